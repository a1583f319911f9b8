package org.cloister.site.training;

/** A network that DP-SGD cannot train: the message names the layer and what to use instead. */
public class UnsupportedLayerException extends IllegalArgumentException {
  public UnsupportedLayerException(String message) {
    super(message);
  }
}
