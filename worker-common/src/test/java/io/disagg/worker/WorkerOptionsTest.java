package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class WorkerOptionsTest {

  @Command(name = "probe")
  static final class Probe implements Callable<Integer> {
    @Mixin WorkerOptions options;

    @Override
    public Integer call() {
      options.openBackend(64).close();
      return 0;
    }
  }

  /** A decode worker's use of the TLS flags, as a command line would run it. */
  @Command(name = "serving-probe")
  static final class ServingProbe implements Callable<Integer> {
    @Mixin WorkerOptions options;

    @Override
    public Integer call() {
      options.kvTlsServerFiles();
      return 0;
    }
  }

  private static WorkerOptions parse(Map<String, String> env, String... args) {
    Probe probe = new Probe();
    new CommandLine(probe).setDefaultValueProvider(LayeredDefaults.from(args, env)).parseArgs(args);
    return probe.options;
  }

  @Test
  void backendOption_repeated_reachesTheBackendConfigWithTheOtherFlags() {
    WorkerOptions o = parse(Map.of(), "--model", "m.gguf", "--threads", "2",
        "--backend-option", "java.prefix-cache=false", "--backend-option", "java.min-parallel-work=1");

    var config = o.backendConfig(64);

    assertThat(config.options())
        .containsExactlyInAnyOrderEntriesOf(Map.of("java.prefix-cache", "false", "java.min-parallel-work", "1"));
    assertThat(config.threads()).isEqualTo(2);
    assertThat(config.maxBatchTokens()).isEqualTo(64);
  }

  @Test
  void noBackendOption_givesNoOptions() {
    assertThat(parse(Map.of(), "--model", "m.gguf").backendConfig(64).options()).isEmpty();
  }

  @Test
  void backendOption_withoutEquals_isAParameterErrorNamingTheFlag() {
    assertThatThrownBy(() -> parse(Map.of(), "--model", "m.gguf", "--backend-option", "java.prefix-cache"))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--backend-option")
        .hasMessageContaining("java.prefix-cache");
  }

  @Test
  void backendOption_withoutKey_isAParameterError() {
    WorkerOptions o = parse(Map.of(), "--model", "m.gguf", "--backend-option", " =false");

    assertThatThrownBy(() -> o.backendConfig(64))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessage("--backend-option: =false (expected: KEY=VALUE with a non-empty KEY)");
  }

  @Test
  void backendOption_inConfigFileOrEnvironment_isACommaSeparatedList_thatFlagsReplace(@TempDir Path dir)
      throws Exception {
    Path config = dir.resolve("w.properties");
    Files.writeString(config, "backend-option=java.prefix-cache=false, java.min-parallel-work=8\n");

    assertThat(parse(Map.of(), "--model", "m.gguf", "--config", config.toString()).backendConfig(64).options())
        .containsExactlyInAnyOrderEntriesOf(Map.of("java.prefix-cache", "false", "java.min-parallel-work", "8"));
    assertThat(parse(Map.of("DISAGG_BACKEND_OPTION", "java.min-parallel-work=4"), "--model", "m.gguf", "--config",
        config.toString()).backendConfig(64).options())
        .containsExactlyEntriesOf(Map.of("java.min-parallel-work", "4"));
    assertThat(parse(Map.of(), "--model", "m.gguf", "--config", config.toString(),
        "--backend-option", "java.prefix-cache=true").backendConfig(64).options())
        .containsExactlyEntriesOf(Map.of("java.prefix-cache", "true"));
  }

  @Test
  void backendTheWorkerCannotOpen_isAUsageError() {
    StringWriter err = new StringWriter();

    int code = WorkerCli.execute(new Probe(), Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(err),
        "--model", "m.gguf", "--backend", "absent");

    assertThat(code).isEqualTo(CommandLine.ExitCode.USAGE);
    assertThat(err.toString()).startsWith("backend: absent (expected one of:");
  }

  private static Path file(Path dir, String name) throws Exception {
    // the options only check that a file can be read; whether it is PEM is the worker's TLS context's business
    return Files.writeString(dir.resolve(name), "placeholder\n");
  }

  @Test
  void noTlsFlags_meanPlaintextForBothKindsOfWorker() {
    WorkerOptions o = parse(Map.of(), "--model", "m.gguf");

    assertThat(o.kvTlsServerFiles()).isNull();
    assertThat(o.kvTlsTrustFile()).isNull();
  }

  @Test
  void tlsCertAndKey_areTheServerFiles(@TempDir Path dir) throws Exception {
    Path cert = file(dir, "cert.pem");
    Path key = file(dir, "key.pem");

    WorkerOptions o = parse(Map.of(), "--model", "m.gguf", "--kv-tls-cert", cert.toString(),
        "--kv-tls-key", key.toString());

    assertThat(o.kvTlsServerFiles()).isEqualTo(new WorkerOptions.KvTlsFiles(cert, key));
  }

  @Test
  void tlsCertWithoutKey_isAUsageErrorNamingBothFlags(@TempDir Path dir) throws Exception {
    Path cert = file(dir, "cert.pem");
    WorkerOptions o = parse(Map.of(), "--model", "m.gguf", "--kv-tls-cert", cert.toString());

    assertThatThrownBy(o::kvTlsServerFiles)
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--kv-tls-cert and --kv-tls-key go together")
        .hasMessageContaining("got only --kv-tls-cert " + cert);
  }

  @Test
  void tlsKeyWithoutCert_isAUsageErrorNamingBothFlags(@TempDir Path dir) throws Exception {
    Path key = file(dir, "key.pem");
    WorkerOptions o = parse(Map.of("DISAGG_KV_TLS_KEY", key.toString()), "--model", "m.gguf");

    assertThatThrownBy(o::kvTlsServerFiles)
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--kv-tls-cert and --kv-tls-key go together")
        .hasMessageContaining("got only --kv-tls-key " + key);
  }

  @Test
  void tlsFileThatDoesNotExist_isAUsageErrorNamingFlagAndPath(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("missing.pem");
    WorkerOptions server = parse(Map.of(), "--model", "m.gguf", "--kv-tls-cert", file(dir, "cert.pem").toString(),
        "--kv-tls-key", missing.toString());
    WorkerOptions client = parse(Map.of(), "--model", "m.gguf", "--kv-tls-trust", missing.toString());

    assertThatThrownBy(server::kvTlsServerFiles)
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessage("--kv-tls-key: " + missing + " (cannot read: no such file)");
    assertThatThrownBy(client::kvTlsTrustFile)
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessage("--kv-tls-trust: " + missing + " (cannot read: no such file)");
  }

  @Test
  void tlsFileThatIsADirectory_isAUsageErrorNamingFlagAndPath(@TempDir Path dir) throws Exception {
    WorkerOptions o = parse(Map.of(), "--model", "m.gguf", "--kv-tls-cert", dir.toString(),
        "--kv-tls-key", file(dir, "key.pem").toString());

    assertThatThrownBy(o::kvTlsServerFiles)
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessage("--kv-tls-cert: " + dir + " (cannot read: not a regular file)");
  }

  @Test
  void tlsFiles_fromEnvironmentAndConfigFile_work_andFlagsBeatThem(@TempDir Path dir) throws Exception {
    Path envCert = file(dir, "env-cert.pem");
    Path envKey = file(dir, "env-key.pem");
    Path fileTrust = file(dir, "file-trust.pem");
    Path flagTrust = file(dir, "flag-trust.pem");
    Path config = dir.resolve("w.properties");
    Files.writeString(config, "kv-tls-trust=" + fileTrust + "\nkv-tls-cert=" + file(dir, "file-cert.pem") + "\n");
    Map<String, String> env = Map.of("DISAGG_KV_TLS_CERT", envCert.toString(), "DISAGG_KV_TLS_KEY", envKey.toString());

    assertThat(parse(env, "--model", "m.gguf", "--config", config.toString()).kvTlsServerFiles())
        .isEqualTo(new WorkerOptions.KvTlsFiles(envCert, envKey));
    assertThat(parse(Map.of(), "--model", "m.gguf", "--config", config.toString()).kvTlsTrustFile())
        .isEqualTo(fileTrust);
    assertThat(parse(Map.of("DISAGG_KV_TLS_TRUST", fileTrust.toString()), "--model", "m.gguf",
        "--kv-tls-trust", flagTrust.toString()).kvTlsTrustFile()).isEqualTo(flagTrust);
  }

  @Test
  void tlsTrustOnTheCommandLine_isRefusedByTheWorkerThatServesKvTransfer(@TempDir Path dir) throws Exception {
    WorkerOptions o = parse(Map.of(), "--model", "m.gguf", "--kv-tls-trust", file(dir, "trust.pem").toString());

    assertThatThrownBy(o::kvTlsServerFiles)
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageStartingWith("--kv-tls-trust: used by prefill workers only");
  }

  @Test
  void tlsCertOrKeyOnTheCommandLine_isRefusedByTheWorkerThatPushes(@TempDir Path dir) throws Exception {
    WorkerOptions cert = parse(Map.of(), "--model", "m.gguf", "--kv-tls-cert", file(dir, "cert.pem").toString());
    WorkerOptions key = parse(Map.of(), "--model", "m.gguf", "--kv-tls-key", file(dir, "key.pem").toString());

    assertThatThrownBy(cert::kvTlsTrustFile)
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageStartingWith("--kv-tls-cert: used by decode workers only");
    assertThatThrownBy(key::kvTlsTrustFile)
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageStartingWith("--kv-tls-key: used by decode workers only");
  }

  @Test
  void otherWorkersTlsFiles_inASharedConfigFileOrEnvironment_areIgnored(@TempDir Path dir) throws Exception {
    Path cert = file(dir, "cert.pem");
    Path key = file(dir, "key.pem");
    Path trust = file(dir, "trust.pem");
    Path config = dir.resolve("fleet.properties");
    Files.writeString(config, "kv-tls-cert=" + cert + "\nkv-tls-key=" + key + "\n");
    WorkerOptions o = parse(Map.of("DISAGG_KV_TLS_TRUST", trust.toString()), "--model", "m.gguf",
        "--config", config.toString());

    assertThat(o.kvTlsServerFiles()).isEqualTo(new WorkerOptions.KvTlsFiles(cert, key));
    assertThat(o.kvTlsTrustFile()).isEqualTo(trust);
  }

  @Test
  void tlsCertWithoutKey_onTheCli_exitsWithUsageAndOneLineWithoutAStackTrace(@TempDir Path dir) throws Exception {
    StringWriter err = new StringWriter();

    int code = WorkerCli.execute(new ServingProbe(), Map.of(), new PrintWriter(new StringWriter()),
        new PrintWriter(err), "--model", "m.gguf", "--kv-tls-cert", file(dir, "cert.pem").toString());

    assertThat(code).isEqualTo(CommandLine.ExitCode.USAGE);
    assertThat(err.toString()).startsWith("--kv-tls-cert and --kv-tls-key go together").doesNotContain("\tat ");
  }
}
