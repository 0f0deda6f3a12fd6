package io.disagg.kv;

import java.util.Objects;

/**
 * Where a KV transfer server listens: a TCP {@code host:port} or a Unix domain socket {@code unix:/path/to.sock}.
 * Unix sockets skip the TCP stack and are the fast path when prefill and decode share a host.
 *
 * @param host TCP host name or literal; {@code null} for a Unix socket
 * @param port TCP port (0 lets a server pick one); -1 for a Unix socket
 * @param path Unix socket path; {@code null} for TCP
 */
public record KvAddress(String host, int port, String path) {
  private static final String UNIX_PREFIX = "unix:";

  public KvAddress {
    if (path != null) {
      if (host != null || port != -1) {
        throw new IllegalArgumentException("unix address: host/port given (expected: path only)");
      }
      if (path.isEmpty()) {
        throw new IllegalArgumentException("path: empty (expected: a socket file path)");
      }
    } else {
      Objects.requireNonNull(host, "host");
      if (host.isEmpty()) {
        throw new IllegalArgumentException("host: empty (expected: a host name or address)");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
      }
    }
  }

  /** A TCP address. */
  public static KvAddress tcp(String host, int port) {
    return new KvAddress(host, port, null);
  }

  /** A Unix domain socket address. */
  public static KvAddress unix(String path) {
    return new KvAddress(null, -1, path);
  }

  /**
   * Parses {@code host:port}, {@code [ipv6]:port} or {@code unix:/path}.
   *
   * @throws IllegalArgumentException if the text is neither form
   */
  public static KvAddress parse(String text) {
    Objects.requireNonNull(text, "text");
    if (text.startsWith(UNIX_PREFIX)) {
      return unix(text.substring(UNIX_PREFIX.length()));
    }
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException("address: " + text + " (expected: host:port or unix:/path)");
    }
    String host = text.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new IllegalArgumentException("address: " + text + " (expected: IPv6 literals in brackets)");
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("address: " + text + " (expected: a numeric port)", e);
    }
    return tcp(host, port);
  }

  /** Whether this is a Unix domain socket address. */
  public boolean isUnix() {
    return path != null;
  }

  /** {@code "uds"} or {@code "tcp"}, the transport tag on meters. */
  public String transport() {
    return isUnix() ? "uds" : "tcp";
  }

  @Override
  public String toString() {
    if (isUnix()) {
      return UNIX_PREFIX + path;
    }
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
