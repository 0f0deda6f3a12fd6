package io.disagg.decode.testing;

import java.io.PrintWriter;
import java.io.Writer;
import java.util.concurrent.CompletableFuture;

/** Captures what a main class prints and completes a future with the first line containing a marker. */
public final class LineCapture extends Writer {
  private final StringBuilder all = new StringBuilder();
  private final String marker;
  public final CompletableFuture<String> line = new CompletableFuture<>();

  public LineCapture(String marker) {
    this.marker = marker;
  }

  public PrintWriter printWriter() {
    return new PrintWriter(this, true);
  }

  @Override
  public synchronized void write(char[] buf, int off, int len) {
    all.append(buf, off, len);
    int at = all.indexOf(marker);
    if (at >= 0 && !line.isDone()) {
      int start = all.lastIndexOf("\n", at) + 1;
      int end = all.indexOf("\n", at);
      if (end >= 0) {
        line.complete(all.substring(start, end).strip());
      }
    }
  }

  public synchronized String text() {
    return all.toString();
  }

  @Override
  public void flush() {}

  @Override
  public void close() {}
}
