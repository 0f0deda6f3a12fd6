package io.disagg.kv.internal;

import io.disagg.kv.KvTransferException;
import io.disagg.kv.KvTransferException.Reason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * Sending end of one pooled connection: authenticates once, then runs one {@link SendTask} at a time. Payload goes
 * out as {@link DataFrame}s whose content wraps the source block memory (no copy), written only while the channel is
 * writable; {@link #channelWritabilityChanged} resumes it, so at most the high watermark is ever queued. One
 * instance per channel; everything runs on its event loop except {@link #executor()}.
 */
public final class ClientHandler extends ChannelInboundHandlerAdapter {

  /** What every connection of a client shares. */
  public record Config(
      Handshake handshake,
      KvMeters meters,
      LongSupplier nanoTime,
      RandomGenerator random,
      int maxDataFrameBytes,
      long responseTimeoutNanos,
      long transferIdleTimeoutNanos,
      long idleTimeoutNanos,
      ConnectionPool pool) {}

  private enum State { AWAIT_CHALLENGE, AWAIT_AUTH_OK, IDLE, AWAIT_ACCEPT, SENDING, AWAIT_ACK, CLOSED }

  private final Config config;
  private final io.disagg.kv.KvAddress address;
  private final CompletableFuture<ClientHandler> ready = new CompletableFuture<>();
  private ChannelHandlerContext ctx;
  private State state = State.AWAIT_CHALLENGE;
  private byte[] clientNonce;
  private SendTask task;
  private ScheduledFuture<?> timeout;
  /** Payload the server lets us send after a HEADER before its ACCEPT (from AUTH_OK). */
  private long eagerBytes;
  private ScheduledFuture<?> watchdog;
  private long idleSinceNanos;
  /** What the watchdog saw last while sending: payload handed to the channel and bytes not yet on the socket. */
  private long watchedSentBytes = -1;
  private long watchedPendingBytes = -1;
  private long watchedSinceNanos;

  public ClientHandler(Config config, io.disagg.kv.KvAddress address) {
    this.config = config;
    this.address = address;
  }

  /** Completes once authenticated, or fails with {@link Reason#CONNECT_FAILED}, {@link Reason#AUTH_FAILED}, .... */
  public CompletableFuture<ClientHandler> ready() {
    return ready;
  }

  io.disagg.kv.KvAddress address() {
    return address;
  }

  EventExecutor executor() {
    return ctx.executor();
  }

  boolean isUsable() {
    return state == State.IDLE && ctx.channel().isActive();
  }

  /** A cheap check from any thread; {@link #isUsable()} is authoritative on the event loop. */
  boolean isUsableFromAnyThread() {
    return ctx != null && ctx.channel().isActive();
  }

  void close() {
    ctx.channel().close();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    clientNonce = new byte[Frames.NONCE_BYTES];
    config.random().nextBytes(clientNonce);
    armTimeout("handshake");
    long period = Math.max(TimeUnit.MILLISECONDS.toNanos(10),
        Math.min(config.transferIdleTimeoutNanos(), config.idleTimeoutNanos()) / 4);
    watchdog = ctx.executor().scheduleAtFixedRate(this::watch, period, period, TimeUnit.NANOSECONDS);
    ctx.writeAndFlush(new Frames.Hello(Frames.VERSION, Frames.VERSION, clientNonce));
    ctx.fireChannelActive();
  }

  /**
   * Periodic check, in place of an {@code IdleStateHandler} (which would turn every write's void promise into a real
   * one: garbage per frame). Closes a pooled connection idle for the idle timeout (closing lets the pool forget it,
   * see {@link ConnectionPool#closed}), and fails a transfer whose queued bytes have not moved for the transfer idle
   * timeout: the receiver stopped reading.
   */
  private void watch() {
    long now = config.nanoTime().getAsLong();
    if (state == State.IDLE) {
      if (now - idleSinceNanos >= config.idleTimeoutNanos()) {
        state = State.CLOSED;
        ctx.close();
      }
      return;
    }
    if (task == null) {
      return;
    }
    // In every transfer state: the trailer may be queued (AWAIT_ACK) behind megabytes the receiver does not read.
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    long pending = out == null ? 0 : out.totalPendingWriteBytes();
    if (pending == 0 || pending != watchedPendingBytes || task.sentBytes != watchedSentBytes) {
      watchedPendingBytes = pending;
      watchedSentBytes = task.sentBytes;
      watchedSinceNanos = now;
    } else if (now - watchedSinceNanos >= config.transferIdleTimeoutNanos()) {
      fatal(Reason.TIMEOUT, "receiver stopped reading after " + task.sentBytes + " bytes");
    }
  }

  private void becomeIdle() {
    state = State.IDLE;
    idleSinceNanos = config.nanoTime().getAsLong();
  }

  /** Runs {@code t} on this connection; must be called on the event loop while {@link #isUsable()}. */
  void start(SendTask t) {
    t.bind(this);
    if (t.isDone()) {
      // Cancelled while waiting for this connection: nothing was sent, the connection is still clean.
      t.fail(new KvTransferException(Reason.CANCELLED, "cancelled before sending"));
      config.pool().release(this, true);
      return;
    }
    task = t;
    watchedSentBytes = -1;
    t.acquiredNanos = config.nanoTime().getAsLong();
    t.headerNanos = t.acquiredNanos;
    state = State.AWAIT_ACCEPT;
    config.meters().started(address.transport());
    armTimeout("accept");
    ctx.write(new Frames.Header(t.header), ctx.voidPromise());
    // Pipelined: payload up to the server's credit (and the trailer, if it all fits) goes with the header.
    writeMore(t);
    ctx.flush();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof Frames.Control control && state != State.CLOSED) {
        onControl(control);
      } else if (msg instanceof DataFrame) {
        fatal(Reason.PROTOCOL_ERROR, "server sent DATA");
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void onControl(Frames.Control frame) {
    if (frame instanceof Frames.Error e) {
      fatalQuiet(Reason.fromWireCode(e.code()), "receiver: " + e.message());
      return;
    }
    switch (state) {
      case AWAIT_CHALLENGE -> {
        if (!(frame instanceof Frames.Challenge c)) {
          fatal(Reason.PROTOCOL_ERROR, "expected CHALLENGE");
          return;
        }
        if (c.version() != Frames.VERSION) {
          fatal(Reason.UNSUPPORTED_VERSION, "server chose version " + c.version());
          return;
        }
        if (!Handshake.matches(config.handshake().serverProof(clientNonce, c.serverNonce()), c.serverProof())) {
          fatal(Reason.AUTH_FAILED, "server proof does not match the shared secret");
          return;
        }
        state = State.AWAIT_AUTH_OK;
        ctx.writeAndFlush(new Frames.Auth(config.handshake().clientProof(c.serverNonce(), clientNonce)));
      }
      case AWAIT_AUTH_OK -> {
        if (!(frame instanceof Frames.AuthOk)) {
          fatal(Reason.PROTOCOL_ERROR, "expected AUTH_OK");
          return;
        }
        disarmTimeout();
        eagerBytes = ((Frames.AuthOk) frame).eagerBytes();
        becomeIdle();
        ready.complete(this);
      }
      case AWAIT_ACCEPT -> {
        if (frame instanceof Frames.Accept) {
          disarmTimeout();
          task.acceptedNanos = config.nanoTime().getAsLong();
          task.markAccepted();
          if (task.trailerSent) {
            state = State.AWAIT_ACK;
            armTimeout("ack");
          } else {
            state = State.SENDING;
            writeMore(task);
          }
        } else if (frame instanceof Frames.Reject r) {
          disarmTimeout();
          SendTask t = task;
          if (!t.trailerSent) {
            // Ends the rejected transfer on the wire: the server discards our eager payload up to here.
            ctx.writeAndFlush(new Frames.Trailer((int) t.crc.getValue(), t.sentBytes), ctx.voidPromise());
          }
          task = null;
          becomeIdle();
          Reason reason = Reason.fromWireCode(r.code());
          config.meters().failed(address.transport(), reason, 0);
          config.pool().release(this, true);
          t.fail(new KvTransferException(reason, "receiver rejected the header: " + r.message()));
        } else {
          fatal(Reason.PROTOCOL_ERROR, "expected ACCEPT or REJECT");
        }
      }
      case AWAIT_ACK -> {
        if (!(frame instanceof Frames.Ack ack) || ack.totalBytes() != task.sentBytes) {
          fatal(Reason.PROTOCOL_ERROR, "expected ACK of " + task.sentBytes + " bytes, got " + frame);
          return;
        }
        disarmTimeout();
        SendTask t = task;
        task = null;
        becomeIdle();
        long now = config.nanoTime().getAsLong();
        config.meters().completed(address.transport(), t.sentBytes, now - t.startNanos);
        // Back to the pool before completing, so a push chained on the result finds this connection idle.
        config.pool().release(this, true);
        t.succeed(now);
      }
      default -> fatal(Reason.PROTOCOL_ERROR, "unexpected " + frame.getClass().getSimpleName() + " in " + state);
    }
  }

  /**
   * Writes payload while the channel is writable and the task has bytes available, then the trailer. Before the
   * ACCEPT, only up to the server's eager credit.
   */
  void writeMore(SendTask t) {
    if (t != task || (state != State.SENDING && state != State.AWAIT_ACCEPT)) {
      return;
    }
    long limit = state == State.SENDING ? Long.MAX_VALUE : eagerBytes;
    if (t.isDone()) {
      abort(t, new KvTransferException(Reason.CANCELLED, "cancelled by the caller"));
      return;
    }
    long units = t.totalUnits();
    long unitBytes = t.unitBytes();
    boolean wrote = false;
    while (t.unit < units && t.unitAvailable(t.unit) && ctx.channel().isWritable() && t.sentBytes < limit) {
      int block = t.unitBlock(t.unit);
      long offset = t.unitOffset(t.unit) + t.offsetInUnit;
      int length = (int) Math.min(Math.min(config.maxDataFrameBytes(), unitBytes - t.offsetInUnit),
          limit - t.sentBytes);
      MemorySegment source = t.blocks.get(block).asSlice(offset, length);
      ByteBuffer view = source.asByteBuffer();
      t.crc.update(view);
      view.rewind();
      // Wraps the KV memory itself; releasing the wrapper frees nothing, the backend owns the memory.
      ByteBuf payload = Unpooled.wrappedBuffer(view);
      ctx.write(new DataFrame(block, offset, payload), ctx.voidPromise());
      wrote = true;
      t.sentBytes += length;
      t.offsetInUnit += length;
      if (t.offsetInUnit == unitBytes) {
        t.unit++;
        t.offsetInUnit = 0;
      }
    }
    if (t.unit == units && t.finished() && !t.trailerSent) {
      t.trailerSent = true;
      t.trailerNanos = config.nanoTime().getAsLong();
      if (state == State.SENDING) {
        state = State.AWAIT_ACK;
        armTimeout("ack");
      }
      ctx.write(new Frames.Trailer((int) t.crc.getValue(), t.sentBytes), ctx.voidPromise());
      wrote = true;
    }
    if (wrote) {
      ctx.flush();
    }
  }

  /** Cancels {@code t} if it is running here: the receiver is told, the connection closes, then {@code t} fails. */
  void abort(SendTask t, KvTransferException error) {
    if (t != task) {
      t.fail(error);
      return;
    }
    disarmTimeout();
    task = null;
    state = State.CLOSED;
    config.meters().failed(address.transport(), error.reason(), t.sentBytes);
    ctx.channel().closeFuture().addListener(f -> t.fail(error));
    // Close once CANCEL is on the wire, so the receiver learns why; if it has stopped reading, close anyway soon.
    ctx.writeAndFlush(new Frames.Cancel(error.getMessage())).addListener(f -> ctx.channel().close());
    ctx.executor().schedule(() -> ctx.channel().close(), config.responseTimeoutNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable() && task != null) {
      writeMore(task);
    }
    ctx.fireChannelWritabilityChanged();
  }

  private void fatal(Reason reason, String message) {
    if (ctx.channel().isActive() && state != State.CLOSED) {
      ctx.writeAndFlush(new Frames.Error(reason.wireCode(), message));
    }
    fatalQuiet(reason, message);
  }

  /** Fails whatever is in progress and closes; the task fails only once the channel is closed. */
  private void fatalQuiet(Reason reason, String message) {
    if (state == State.CLOSED) {
      return;
    }
    State was = state;
    state = State.CLOSED;
    disarmTimeout();
    KvTransferException error = new KvTransferException(reason, message);
    SendTask t = task;
    task = null;
    if (t != null) {
      config.meters().failed(address.transport(), reason, t.sentBytes);
    }
    if (was == State.AWAIT_CHALLENGE || was == State.AWAIT_AUTH_OK) {
      ready.completeExceptionally(error);
    }
    ctx.channel().close().addListener(f -> {
      if (t != null) {
        t.fail(error);
      }
    });
  }

  private void armTimeout(String phase) {
    disarmTimeout();
    timeout = ctx.executor().schedule(() -> {
      timeout = null;
      fatal(Reason.TIMEOUT, "no " + phase + " from the receiver within "
          + TimeUnit.NANOSECONDS.toMillis(config.responseTimeoutNanos()) + " ms");
    }, config.responseTimeoutNanos(), TimeUnit.NANOSECONDS);
  }

  private void disarmTimeout() {
    if (timeout != null) {
      timeout.cancel(false);
      timeout = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (watchdog != null) {
      watchdog.cancel(false);
    }
    if (state != State.CLOSED) {
      State was = state;
      fatalQuiet(was == State.AWAIT_CHALLENGE || was == State.AWAIT_AUTH_OK ? Reason.CONNECT_FAILED
          : Reason.CONNECTION_LOST, "connection closed by the receiver (in " + was + ")");
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Reason tls = Frames.tlsFailure(cause);
    if (tls != null) {
      // The SslHandler reports TLS failures as decoding errors; they say nothing about our framing.
      fatalQuiet(tls, "TLS: " + Frames.rootMessage(cause));
    } else if (cause instanceof DecoderException) {
      fatal(Reason.PROTOCOL_ERROR, "malformed frame from the receiver: " + cause.getMessage());
    } else {
      fatalQuiet(state == State.AWAIT_CHALLENGE || state == State.AWAIT_AUTH_OK ? Reason.CONNECT_FAILED
          : Reason.CONNECTION_LOST, "I/O error: " + cause);
    }
  }
}
