package io.disagg.kv.internal;

import io.disagg.kv.KvAddress;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;

/** Native epoll when it loads, NIO otherwise; both serve TCP and Unix domain sockets. */
public record Transports(boolean epoll) {
  private static final boolean EPOLL_USABLE = probeEpoll();

  /** Epoll if {@code preferNative} and the native library loads and matches; NIO otherwise. */
  public static Transports choose(boolean preferNative) {
    return new Transports(preferNative && EPOLL_USABLE);
  }

  /**
   * {@link Epoll#isAvailable()} only proves the library loaded. A native library from another Netty release loads
   * too, then fails with {@link UnsatisfiedLinkError} on the first connect; initialising the class that binds the
   * errno constants catches that mismatch up front.
   */
  private static boolean probeEpoll() {
    if (!Epoll.isAvailable()) {
      return false;
    }
    try {
      Class.forName("io.netty.channel.unix.Errors", true, Transports.class.getClassLoader());
      return true;
    } catch (LinkageError | ClassNotFoundException e) {
      return false;
    }
  }

  public String name() {
    return epoll ? "epoll" : "nio";
  }

  public EventLoopGroup newGroup(int threads, String name) {
    IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
  }

  public Class<? extends Channel> channelClass(KvAddress address) {
    if (address.isUnix()) {
      return epoll ? EpollDomainSocketChannel.class : NioDomainSocketChannel.class;
    }
    return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  public Class<? extends ServerChannel> serverChannelClass(KvAddress address) {
    if (address.isUnix()) {
      return epoll ? EpollServerDomainSocketChannel.class : NioServerDomainSocketChannel.class;
    }
    return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  public SocketAddress socketAddress(KvAddress address) {
    if (address.isUnix()) {
      return epoll ? new DomainSocketAddress(address.path()) : UnixDomainSocketAddress.of(address.path());
    }
    return new InetSocketAddress(address.host(), address.port());
  }

  /** The address a server channel actually bound (the real port when 0 was asked for). */
  public static KvAddress boundAddress(KvAddress requested, SocketAddress local) {
    if (requested.isUnix()) {
      return requested;
    }
    InetSocketAddress inet = (InetSocketAddress) local;
    return KvAddress.tcp(requested.host(), inet.getPort());
  }
}
