package org.cloister.models;

/** Test-set figures of a model: accuracy, ROC AUC (macro one-vs-rest when multi-class), log loss. */
public record EvaluationMetrics(double accuracy, double auc, double logLoss, int examples) {
}
