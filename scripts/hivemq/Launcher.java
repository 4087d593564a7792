import com.hivemq.embedded.EmbeddedHiveMQ;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Runs an embedded HiveMQ CE until the process is told to stop: java Launcher <config dir> <data dir> <extensions dir>.
 * The config dir holds config.xml (listener, queues, in-memory persistence) and logback.xml; scripts/hivemq.js
 * writes both. The readiness line below is what the scripts wait for (after the port answers).
 */
public final class Launcher {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: Launcher <config dir> <data dir> <extensions dir>");
      System.exit(2);
    }
    EmbeddedHiveMQ hivemq = EmbeddedHiveMQ.builder()
        .withConfigurationFolder(Path.of(args[0]))
        .withDataFolder(Path.of(args[1]))
        .withExtensionsFolder(Path.of(args[2]))
        .build();
    // SIGTERM: stop the broker cleanly (sessions are in memory anyway); a stuck stop must not hold the JVM.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        hivemq.stop().get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("hivemq stop: " + e);
      }
    }));
    try {
      hivemq.start().join();
    } catch (Exception e) {
      System.err.println("hivemq did not start: " + e);
      System.exit(1);
    }
    System.out.println("SLUICE-HIVEMQ-STARTED");
    System.out.flush();
    Thread.currentThread().join();
  }
}
