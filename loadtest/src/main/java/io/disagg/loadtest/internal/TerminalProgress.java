package io.disagg.loadtest.internal;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar redrawn in place with {@code \r}; only used when stderr is a terminal. */
public final class TerminalProgress implements LoadRunner.Progress {

    private static final int WIDTH = 30;

    private final PrintStream out;
    private final String label;

    public TerminalProgress(PrintStream out, String label) {
        this.out = out;
        this.label = label;
    }

    /** Whether the JVM is attached to an interactive terminal. */
    public static boolean isTerminal() {
        var console = System.console();
        return console != null && console.isTerminal();
    }

    static String line(String label, int sent, int finished, int failed, long elapsedNanos, long plannedNanos) {
        double fraction = plannedNanos <= 0 ? 1 : Math.min(1.0, (double) elapsedNanos / plannedNanos);
        int filled = (int) Math.round(fraction * WIDTH);
        return String.format(Locale.ROOT, "%s [%s%s] %5.1fs/%.1fs sent %d done %d failed %d", label,
                "#".repeat(filled), ".".repeat(WIDTH - filled), elapsedNanos / 1e9, plannedNanos / 1e9, sent,
                finished, failed);
    }

    @Override
    public synchronized void update(int sent, int finished, int failed, long elapsedNanos, long plannedNanos) {
        out.print("\r" + line(label, sent, finished, failed, elapsedNanos, plannedNanos) + "\u001b[K");
        out.flush();
    }

    @Override
    public synchronized void done() {
        out.println();
        out.flush();
    }
}
