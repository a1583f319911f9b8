package org.cloister.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.cloister.broker.KeyBrokerMain;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code cloister broker run}: the key broker process. */
@Command(name = "broker", mixinStandardHelpOptions = true,
    description = "The key broker (like a cloud KMS): releases data keys only to attested enclaves.",
    subcommands = {BrokerCommand.Run.class, BrokerCommand.Key.class})
final class BrokerCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (run, key)");
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = {"Runs the key broker until stopped.",
          "Options: --keystore KS.p12 --keystore-password-file FILE --policies POLICIES.json --tls-cert "
          + "CHAIN.pem --tls-key KEY.pem --audit-log AUDIT.jsonl --admin-token-file FILE [--attestation-root "
          + "DEV_ROOT.pem] [--listen 127.0.0.1:0] [--exit-with-parent]"})
  static final class Run implements Callable<Integer> {
    @CommandLine.Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
      return KeyBrokerMain.run(args.toArray(String[]::new), System.out, System.err);
    }
  }

  /** {@code cloister broker key describe|disable|enable KEY_ID}: the operator's revocation switch. */
  @Command(name = "key", mixinStandardHelpOptions = true,
      description = "Describes, disables or enables a model key at a running key broker (admin token, TLS to the broker).",
      subcommands = {Key.Describe.class, Key.Disable.class, Key.Enable.class})
  static final class Key implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
      throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (describe, disable, enable)");
    }

    abstract static class Action implements Callable<Integer> {
      @CommandLine.Spec
      CommandLine.Model.CommandSpec spec;

      @CommandLine.Parameters(index = "0", paramLabel = "KEY_ID", description = "The key's id (the study's model key).")
      String keyId;

      @CommandLine.Option(names = "--broker", required = true, paramLabel = "HOST:PORT",
          description = "The running key broker (the coordinator prints it: 'key broker pid ... on 127.0.0.1:PORT').")
      String broker;

      @CommandLine.Option(names = "--admin-token-file", required = true, paramLabel = "FILE",
          description = "The broker's admin token (kits/coordinator/key-broker/admin.token, or the trustee's).")
      java.nio.file.Path tokenFile;

      @CommandLine.Option(names = "--ca", required = true, paramLabel = "CERT",
          description = "The consortium CA that issued the broker's TLS certificate (a kit's ca.crt).")
      java.nio.file.Path ca;

      @CommandLine.Option(names = "--server-name", paramLabel = "NAME", defaultValue = "cloister-key-broker",
          description = "The name in the broker's TLS certificate (default ${DEFAULT-VALUE}).")
      String serverName;

      abstract org.cloister.protocol.v1.KeyDescription call(
          org.cloister.protocol.v1.KeyBrokerAdminGrpc.KeyBrokerAdminBlockingStub stub,
          org.cloister.protocol.v1.KeyRequest req);

      @Override
      public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        int colon = broker.lastIndexOf(':');
        int port;
        try {
          port = Integer.parseInt(broker.substring(colon + 1));
        } catch (RuntimeException e) {
          throw new CommandLine.ParameterException(cl, "--broker must be HOST:PORT, got '" + broker + "'");
        }
        for (java.nio.file.Path f : List.of(tokenFile, ca)) {
          if (!java.nio.file.Files.isRegularFile(f)) {
            throw new CommandLine.ParameterException(cl, "no such file: " + f);
          }
        }
        String token = java.nio.file.Files.readString(tokenFile).strip();
        io.grpc.ManagedChannel ch = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder
            .forAddress(broker.substring(0, colon), port)
            .sslContext(io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.forClient()
                .trustManager(org.cloister.trust.pki.Pem.readCertificate(ca)).build())
            .overrideAuthority(serverName).build();
        try {
          io.grpc.Metadata h = new io.grpc.Metadata();
          h.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
          org.cloister.protocol.v1.KeyDescription d = call(org.cloister.protocol.v1.KeyBrokerAdminGrpc.newBlockingStub(ch)
                  .withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(h))
                  .withDeadlineAfter(30, java.util.concurrent.TimeUnit.SECONDS),
              org.cloister.protocol.v1.KeyRequest.newBuilder().setKeyId(keyId).build());
          cl.getOut().printf("key %s: %s%s%n", d.getKeyId(), d.getEnabled() ? "enabled" : "DISABLED",
              d.getEnabled() ? "" : " (refused to every enclave: the models wrapped with it cannot be opened until it is "
                  + "enabled; a running inference enclave keeps its loaded model until `cloister infer drop`)");
          cl.getOut().flush();
          return 0;
        } catch (io.grpc.StatusRuntimeException e) {
          String tls = org.cloister.protocol.tls.MutualTls.handshakeFailure(e);
          cl.getErr().println("broker key: " + (tls != null ? "the TLS handshake with the broker failed: " + tls
              : e.getStatus().getCode() + (e.getStatus().getDescription() == null ? ""
                  : ": " + e.getStatus().getDescription())));
          cl.getErr().flush();
          return 1;
        } finally {
          ch.shutdownNow();
        }
      }
    }

    @Command(name = "describe", mixinStandardHelpOptions = true, description = "Whether the key is enabled.")
    static final class Describe extends Action {
      @Override
      org.cloister.protocol.v1.KeyDescription call(org.cloister.protocol.v1.KeyBrokerAdminGrpc.KeyBrokerAdminBlockingStub stub,
                                                   org.cloister.protocol.v1.KeyRequest req) {
        return stub.describeKey(req);
      }
    }

    @Command(name = "disable", mixinStandardHelpOptions = true,
        description = "Disables the key: refused to every enclave, so what it wraps becomes unreadable (revocation).")
    static final class Disable extends Action {
      @Override
      org.cloister.protocol.v1.KeyDescription call(org.cloister.protocol.v1.KeyBrokerAdminGrpc.KeyBrokerAdminBlockingStub stub,
                                                   org.cloister.protocol.v1.KeyRequest req) {
        return stub.disableKey(req);
      }
    }

    @Command(name = "enable", mixinStandardHelpOptions = true, description = "Enables a disabled key again.")
    static final class Enable extends Action {
      @Override
      org.cloister.protocol.v1.KeyDescription call(org.cloister.protocol.v1.KeyBrokerAdminGrpc.KeyBrokerAdminBlockingStub stub,
                                                   org.cloister.protocol.v1.KeyRequest req) {
        return stub.enableKey(req);
      }
    }
  }
}
