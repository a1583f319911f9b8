package org.cloister.inference.client;

/** A query was not answered: the enclave refused the input, or the transport or the enclave failed. */
public final class InferenceException extends Exception {
  private final boolean inputError;

  public InferenceException(String message, boolean inputError, Throwable cause) {
    super(message, cause);
    this.inputError = inputError;
  }

  /** True when the query itself is wrong (feature count, NaN, too many rows): fix the input, not the service. */
  public boolean inputError() {
    return inputError;
  }
}
