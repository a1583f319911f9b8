package org.cloister.data;

import java.io.IOException;
import java.io.PushbackReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * The one CSV reader of the data module (Apache Commons CSV, RFC 4180): quoted fields with commas,
 * doubled quotes and line breaks, a UTF-8 byte-order mark before the header, CRLF or LF line ends,
 * values trimmed of surrounding spaces. Each record comes with the line it starts on, for errors
 * that name the line and the column.
 */
public final class CsvRows implements AutoCloseable {
  private static final CSVFormat FORMAT = CSVFormat.RFC4180.builder()
      .setTrim(true).setIgnoreSurroundingSpaces(true).setIgnoreEmptyLines(false).build();

  private final CSVParser parser;
  private final Iterator<CSVRecord> records;

  /** One record: its fields and the line (1-based) it starts on. */
  public record Row(long line, List<String> fields) {
    /** A line with nothing on it. */
    public boolean blank() {
      return fields.size() == 1 && fields.get(0).isEmpty();
    }
  }

  public CsvRows(Reader reader) {
    this(reader, ',');
  }

  /** A reader of fields separated by {@code delimiter} (',' ';' '|' or a tab, say). */
  public CsvRows(Reader reader, char delimiter) {
    try {
      CSVFormat format = delimiter == ',' ? FORMAT : FORMAT.builder().setDelimiter(delimiter).build();
      this.parser = CSVParser.parse(withoutByteOrderMark(reader), format);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.records = parser.iterator();
  }

  /**
   * The next record, or null at the end of the input.
   *
   * @throws DataFormatException naming the line of a malformed record (an unterminated quote)
   */
  public Row next() {
    long before = parser.getCurrentLineNumber();
    try {
      if (!records.hasNext()) {
        return null;
      }
      CSVRecord r = records.next();
      List<String> fields = new ArrayList<>(r.size());
      r.forEach(fields::add);
      return new Row(before + 1, fields);
    } catch (UncheckedIOException | IllegalStateException e) {
      String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      throw new DataFormatException(before + 1, "malformed CSV (" + why + ")");
    }
  }

  @Override
  public void close() {
    try {
      parser.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Reader withoutByteOrderMark(Reader reader) throws IOException {
    PushbackReader in = new PushbackReader(reader, 1);
    int first = in.read();
    if (first != -1 && first != '\uFEFF') {
      in.unread(first);
    }
    return in;
  }
}
