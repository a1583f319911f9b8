package org.cloister.cli.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code operator.yaml} of the operator kit, bound strictly (docs/schemas/operator.md). */
public record OperatorFile(@JsonProperty(value = "coordinator", required = true) String coordinator) {
}
