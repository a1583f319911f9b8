package org.cloister.enclave.runtime.tee;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The enclave's vsock bridges: a TCP client inside the "enclave" reaches a TCP server on the "parent" through
 * {@link VsockForwarder#outbound} and, on the parent's side of the test double, {@link VsockForwarder#inbound}
 * (the same chain a coordinator-to-enclave or enclave-to-broker connection takes), byte for byte in both
 * directions; {@link LoopbackVsock} stands in for AF_VSOCK. Where the kernel offers AF_VSOCK the real
 * {@link Vsock} binds and listens (its sockaddr_vm accepted by the kernel) and a closed listener accepts nothing.
 */
class VsockForwarderTest {

  @Test
  void bytesCrossBothForwardersUnchangedInBothDirections() throws Exception {
    try (ServerSocket echo = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
      Thread server = new Thread(() -> {
        try (Socket s = echo.accept()) {
          InputStream in = s.getInputStream();
          OutputStream out = s.getOutputStream();
          byte[] buf = new byte[8192];
          for (int n; (n = in.read(buf)) >= 0; ) {
            for (int i = 0; i < n; i++) {
              buf[i] = (byte) ~buf[i];
            }
            out.write(buf, 0, n);
          }
        } catch (IOException ignored) {
          // test over
        }
      });
      server.setDaemon(true);
      server.start();
      LoopbackVsock vsock = new LoopbackVsock();
      try (VsockForwarder in = VsockForwarder.inbound(vsock, 8443, new InetSocketAddress(
              InetAddress.getLoopbackAddress(), echo.getLocalPort()));
           VsockForwarder out = VsockForwarder.outbound(0, vsock, StreamTransport.PARENT_CID, 8443);
           Socket client = new Socket(InetAddress.getLoopbackAddress(), out.localPort())) {
        byte[] message = new byte[300_000];
        new Random(5).nextBytes(message);
        Thread writer = new Thread(() -> {
          try {
            client.getOutputStream().write(message);
          } catch (IOException ignored) {
            // read side fails the test
          }
        });
        writer.start();
        byte[] back = new byte[message.length];
        new DataInputStream(client.getInputStream()).readFully(back);
        for (int i = 0; i < back.length; i++) {
          back[i] = (byte) ~back[i];
        }
        assertThat(back).isEqualTo(message);
        assertThat(vsock.lastCid).isEqualTo(StreamTransport.PARENT_CID);
        writer.join();
      }
    }
  }

  @Test
  void nothingListeningOnTheParentClosesTheEnclavesConnection() throws Exception {
    try (VsockForwarder out = VsockForwarder.outbound(0, new LoopbackVsock(), StreamTransport.PARENT_CID, 9);
         Socket client = new Socket(InetAddress.getLoopbackAddress(), out.localPort())) {
      assertThat(client.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void aMalformedOutboundOptionIsNamed() {
    for (String bad : new String[] {"8443", "8443=3", "x=3:8443", "8443=3:8443:1"}) {
      assertThatThrownBy(() -> VsockForwarder.outbound(bad, new LoopbackVsock()))
          .hasMessageContaining("LOCALPORT=CID:PORT").hasMessageContaining(bad);
    }
  }

  @Test
  void theKernelsVsockAcceptsOurAddressAndAClosedListenerAcceptsNothing() throws Exception {
    Vsock vsock = new Vsock();
    StreamTransport.Listener l;
    try {
      l = vsock.listen(40_000 + new Random().nextInt(20_000));
    } catch (DeviceFile.IoctlException e) {
      Assumptions.assumeTrue(false, "no AF_VSOCK in this kernel: " + e.getMessage());
      return;
    }
    l.close();
    assertThatThrownBy(l::accept).isInstanceOf(IOException.class).hasMessageContaining("closed");
  }
}
