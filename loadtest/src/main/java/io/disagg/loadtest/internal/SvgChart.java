package io.disagg.loadtest.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Draws line charts as inline SVG, so reports open offline with no script or library. Axes are linear with
 * "nice" ticks (1, 2, 5 times a power of ten).
 */
final class SvgChart {

    static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
        "#17becf", "#7f7f7f", "#bcbd22"};

    record Series(String name, double[] xs, double[] ys, boolean markers) {
    }

    record Marker(double x, double y, String label) {
    }

    private static final int W = 560;
    private static final int H = 320;
    private static final int LEFT = 64;
    private static final int RIGHT = 16;
    private static final int TOP = 36;
    private static final int BOTTOM = 48;

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series = new ArrayList<>();
    private double hLine = Double.NaN;
    private String hLineLabel;
    private Marker marker;
    private double yMaxFixed = Double.NaN;

    SvgChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    SvgChart add(Series s) {
        series.add(s);
        return this;
    }

    SvgChart horizontalLine(double y, String label) {
        this.hLine = y;
        this.hLineLabel = label;
        return this;
    }

    SvgChart marker(Marker m) {
        this.marker = m;
        return this;
    }

    SvgChart yMax(double y) {
        this.yMaxFixed = y;
        return this;
    }

    /** A CDF: x = sorted samples, y = (i + 1) / n. */
    static Series cdf(String name, double[] sorted) {
        double[] ys = new double[sorted.length];
        for (int i = 0; i < sorted.length; i++) {
            ys[i] = (i + 1.0) / sorted.length;
        }
        return new Series(name, sorted, ys, false);
    }

    String render() {
        double xMin = 0;
        double xMax = 0;
        double yMax = 0;
        for (Series s : series) {
            for (int i = 0; i < s.xs().length; i++) {
                if (Double.isFinite(s.xs()[i]) && Double.isFinite(s.ys()[i])) {
                    xMax = Math.max(xMax, s.xs()[i]);
                    yMax = Math.max(yMax, s.ys()[i]);
                }
            }
        }
        if (marker != null) {
            xMax = Math.max(xMax, marker.x());
        }
        if (!Double.isNaN(yMaxFixed)) {
            yMax = yMaxFixed;
        }
        double[] xTicks = ticks(xMin, xMax);
        double[] yTicks = ticks(0, yMax);
        double xHi = xTicks[xTicks.length - 1];
        double yHi = yTicks[yTicks.length - 1];
        int plotW = W - LEFT - RIGHT;
        int plotH = H - TOP - BOTTOM;
        var sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">%n", W, H + 20 * legendRows(), W,
                H + 20 * legendRows(), esc(title)));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>%n",
                LEFT, esc(title)));
        for (double t : yTicks) {
            double y = TOP + plotH - t / yHi * plotH;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>%n",
                    LEFT, y, W - RIGHT, y, LEFT - 6, y + 4, fmt(t)));
        }
        for (double t : xTicks) {
            double x = LEFT + (t - xMin) / (xHi - xMin) * plotW;
            sb.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>%n",
                    x, TOP, x, TOP + plotH, x, TOP + plotH + 16, fmt(t)));
        }
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                + "stroke=\"#333\"/>%n", LEFT, TOP, plotW, plotH));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>%n",
                LEFT + plotW / 2, TOP + plotH + 34, esc(xLabel)));
        sb.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 14 %d)\">%s</text>%n", TOP + plotH / 2, TOP + plotH / 2, esc(yLabel)));
        if (!Double.isNaN(hLine)) {
            double y = TOP + plotH - hLine / yHi * plotH;
            sb.append(String.format(Locale.ROOT, "<line class=\"threshold\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                    + "stroke=\"#888\" stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%.1f\" font-size=\"11\" "
                    + "text-anchor=\"end\" fill=\"#555\">%s</text>%n",
                    LEFT, y, W - RIGHT, y, W - RIGHT - 4, y - 4, esc(hLineLabel)));
        }
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            String color = COLORS[k % COLORS.length];
            var points = new StringBuilder();
            var dots = new StringBuilder();
            for (int i = 0; i < s.xs().length; i++) {
                if (!Double.isFinite(s.xs()[i]) || !Double.isFinite(s.ys()[i])) {
                    continue;
                }
                double x = LEFT + (s.xs()[i] - xMin) / (xHi - xMin) * plotW;
                double y = TOP + plotH - s.ys()[i] / yHi * plotH;
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
                if (s.markers()) {
                    dots.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>",
                            x, y, color));
                }
            }
            if (points.isEmpty()) {
                continue;
            }
            sb.append(String.format(Locale.ROOT, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" "
                    + "stroke-width=\"2\" points=\"%s\"/>%s%n", color, points.toString().strip(), dots));
        }
        if (marker != null) {
            double x = LEFT + (marker.x() - xMin) / (xHi - xMin) * plotW;
            double y = TOP + plotH - marker.y() / yHi * plotH;
            sb.append(String.format(Locale.ROOT, "<g class=\"goodput\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                    + "stroke=\"#2ca02c\" stroke-width=\"2\"/><polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
                    + "fill=\"#2ca02c\"/><text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#2ca02c\" "
                    + "font-weight=\"bold\" text-anchor=\"%s\">%s</text></g>%n",
                    x, TOP, x, TOP + plotH, x, y - 7, x + 7, y, x, y + 7, x - 7, y,
                    x > LEFT + plotW / 2.0 ? x - 6 : x + 6, TOP + plotH - 8,
                    x > LEFT + plotW / 2.0 ? "end" : "start", esc(marker.label())));
        }
        int row = 0;
        int col = 0;
        for (int k = 0; k < series.size(); k++) {
            int lx = LEFT + col * 160;
            int ly = H + row * 20;
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>%n",
                    lx, ly - 6, COLORS[k % COLORS.length], lx + 18, ly, esc(series.get(k).name())));
            if (++col == 3) {
                col = 0;
                row++;
            }
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private int legendRows() {
        return (series.size() + 2) / 3;
    }

    /** Ticks from {@code lo} to at least {@code hi}, 4 to 10 of them, at 1/2/5 steps. */
    static double[] ticks(double lo, double hi) {
        if (!(hi > lo)) {
            hi = lo + 1;
        }
        double raw = (hi - lo) / 5;
        double pow = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = raw / pow < 1.5 ? pow : raw / pow < 3.5 ? 2 * pow : raw / pow < 7.5 ? 5 * pow : 10 * pow;
        int n = (int) Math.ceil((hi - lo) / step - 1e-9);
        double[] t = new double[n + 1];
        for (int i = 0; i <= n; i++) {
            t[i] = lo + i * step;
        }
        return t;
    }

    static String fmt(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) {
            return Long.toString((long) v);
        }
        String g = String.format(Locale.ROOT, "%.3g", v);
        return g.contains(".") && !g.contains("e") ? g.replaceAll("0+$", "").replaceAll("\\.$", "") : g;
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
