package org.cloister.data;

/** A data file that does not match what was declared. The message names the line and the column. */
public class DataFormatException extends RuntimeException {
  private final long line;

  public DataFormatException(long line, String message) {
    super("line " + line + ": " + message);
    this.line = line;
  }

  public DataFormatException(String message) {
    super(message);
    this.line = -1;
  }

  /** 1-based line number in the file (the header is line 1), or -1 when not tied to a line. */
  public long line() {
    return line;
  }
}
