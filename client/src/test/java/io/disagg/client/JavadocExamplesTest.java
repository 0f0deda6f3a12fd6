package io.disagg.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles every {@code {@snippet :}} example in {@link DisaggClient}'s Javadoc and runs it against
 * {@link SimulatedRouter}, so the documentation cannot drift from the API.
 */
class JavadocExamplesTest {

    private static final Path SOURCE = Path.of("src/main/java/io/disagg/client/DisaggClient.java");

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @TempDir
    Path work;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    static List<String> snippets(String source) {
        var result = new ArrayList<String>();
        StringBuilder current = null;
        int depth = 0;
        for (String line : source.split("\n")) {
            String text = line.strip();
            if (text.startsWith("*")) {
                text = line.substring(line.indexOf('*') + 1);
                if (text.startsWith(" ")) {
                    text = text.substring(1);
                }
            }
            if (current == null) {
                if (text.strip().equals("{@snippet :")) {
                    current = new StringBuilder();
                }
            } else if (depth == 0 && text.strip().equals("}")) {
                result.add(current.toString());
                current = null;
            } else {
                // the snippet ends at the first unmatched closing brace; examples keep braces out of strings
                depth += (int) text.chars().filter(c -> c == '{').count() - (int) text.chars().filter(c -> c == '}').count();
                current.append(text).append('\n');
            }
        }
        return result;
    }

    @Test
    void javadocSnippets_compileAndRunAgainstSimulatedRouter() throws Exception {
        List<String> examples = snippets(Files.readString(SOURCE));
        assertThat(examples).hasSize(3);

        var sources = new ArrayList<Path>();
        for (int i = 0; i < examples.size(); i++) {
            Path file = work.resolve("snippets/Example" + i + ".java");
            Files.createDirectories(file.getParent());
            Files.writeString(file, """
                    package snippets;
                    import io.disagg.client.*;
                    import io.disagg.proto.v1.*;
                    import java.time.Duration;
                    import java.util.concurrent.*;
                    public final class Example%d {
                        public static void run(String target) throws Exception {
                    %s
                        }
                    }
                    """.formatted(i, examples.get(i)));
            sources.add(file);
        }
        Path classes = work.resolve("classes");
        Files.createDirectories(classes);
        var diagnostics = new ByteArrayOutputStream();
        var args = new ArrayList<>(List.of("-d", classes.toString(), "-classpath", System.getProperty("java.class.path"),
                "-Xlint:all", "-Werror"));
        sources.forEach(s -> args.add(s.toString()));
        int rc = ToolProvider.getSystemJavaCompiler().run(null, diagnostics, diagnostics, args.toArray(String[]::new));
        assertThat(rc).as("javac on the Javadoc examples %s", diagnostics).isZero();

        try (var router = SimulatedRouter.start(scheduler).tokenDelay(Duration.ofMillis(1));
             var loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            for (int i = 0; i < examples.size(); i++) {
                loader.loadClass("snippets.Example" + i).getMethod("run", String.class).invoke(null, router.target());
            }
        }
    }

    @Test
    void snippets_extractsBodiesWithNestedBraces() throws IOException {
        String source = """
                /**
                 * {@snippet :
                 * if (x) {
                 *     y();
                 * }
                 * }
                 */
                """;

        assertThat(snippets(source)).containsExactly("if (x) {\n    y();\n}\n");
    }
}
