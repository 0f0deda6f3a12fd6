package io.disagg.openai.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A deliberately minimal HTTP/1.1 client over a plain socket, so tests can send what real clients never would
 * (broken JSON, wrong methods, oversized bodies, pipelined requests) and drop the connection mid-stream.
 * One connection per instance; not thread-safe.
 */
public final class RawHttp implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  public RawHttp(String host, int port) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress(host, port), 5_000);
    // A bound on every read, so a server bug fails the test instead of hanging it.
    socket.setSoTimeout(10_000);
    in = new BufferedInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  /** One response: status, headers with lower-case names, body decoded as UTF-8 (chunked bodies de-chunked). */
  public record Response(int status, Map<String, String> headers, String body) {
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  public Response send(String method, String path, Map<String, String> headers, String body) throws IOException {
    writeRequest(method, path, headers, body);
    return readResponse();
  }

  public Response get(String path, Map<String, String> headers) throws IOException {
    return send("GET", path, headers, null);
  }

  public Response postJson(String path, Map<String, String> headers, String json) throws IOException {
    Map<String, String> h = new LinkedHashMap<>(headers);
    h.putIfAbsent("Content-Type", "application/json");
    return send("POST", path, h, json);
  }

  public void writeRequest(String method, String path, Map<String, String> headers, String body) throws IOException {
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: localhost\r\n");
    headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
    if (body != null || method.equals("POST")) {
      head.append("Content-Length: ").append(bytes.length).append("\r\n");
    }
    head.append("\r\n");
    out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.write(bytes);
    out.flush();
  }

  public void writeRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  public Response readResponse() throws IOException {
    String status = readLine();
    if (status == null) {
      throw new IOException("connection closed before a response");
    }
    int code = Integer.parseInt(status.split(" ")[1]);
    Map<String, String> headers = readHeaders();
    byte[] body;
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      while (true) {
        int size = Integer.parseInt(readLine().trim(), 16);
        if (size == 0) {
          readHeaders();
          break;
        }
        all.write(in.readNBytes(size));
        readLine();
      }
      body = all.toByteArray();
    } else if (headers.containsKey("content-length")) {
      body = in.readNBytes(Integer.parseInt(headers.get("content-length")));
    } else {
      body = in.readAllBytes();
    }
    return new Response(code, headers, new String(body, StandardCharsets.UTF_8));
  }

  /** Reads the status line and headers of a streamed response, leaving its body unread. */
  public Response readHead() throws IOException {
    String status = readLine();
    if (status == null) {
      throw new IOException("connection closed before a response");
    }
    return new Response(Integer.parseInt(status.split(" ")[1]), readHeaders(), "");
  }

  /** Reads raw (still chunk-framed) bytes until {@code marker} has been seen; returns them. */
  public String readUntil(String marker) throws IOException {
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed before " + marker + "; got: " + seen);
      }
      seen.write(b);
      if (seen.toString(StandardCharsets.UTF_8).endsWith(marker)) {
        return seen.toString(StandardCharsets.UTF_8);
      }
    }
  }

  /** True when the server has closed the connection (reads end of stream). */
  public boolean serverClosed() throws IOException {
    try {
      return in.read() < 0;
    } catch (java.net.SocketException e) {
      return true;
    }
  }

  private Map<String, String> readHeaders() throws IOException {
    Map<String, String> headers = new LinkedHashMap<>();
    String line;
    while ((line = readLine()) != null && !line.isEmpty()) {
      int colon = line.indexOf(':');
      headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
    }
    return headers;
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        break;
      }
      if (b != '\r') {
        line.write(b);
      }
    }
    if (b < 0 && line.size() == 0) {
      return null;
    }
    return line.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
