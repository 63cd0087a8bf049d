package org.vmbackup.qmp.agent;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpErrorException;

/**
 * Finds, through QMP, the host socket of a VM's guest agent channel: the {@code virtserialport} named
 * {@code org.qemu.guest_agent.0}, its chardev, and that chardev's unix socket path. This is how a backup that was
 * given only the VM's QMP socket reaches the agent.
 */
public final class GuestAgentSocket {
    /** The port name qemu-ga opens by default. */
    public static final String PORT_NAME = "org.qemu.guest_agent.0";

    private GuestAgentSocket() {
    }

    /**
     * The unix socket of the VM's {@value #PORT_NAME} port, or empty when the VM has no such port or its chardev
     * is not a unix socket the host can connect to (e.g. a unix socket client, a pty).
     */
    public static CompletableFuture<Optional<Path>> find(QmpClient qmp) {
        return find(qmp, PORT_NAME);
    }

    /** The unix socket of the VM's virtio-serial port named {@code portName}; see {@link #find(QmpClient)}. */
    public static CompletableFuture<Optional<Path>> find(QmpClient qmp, String portName) {
        // User-created devices live under /machine/peripheral (with an id) or /machine/peripheral-anon.
        CompletableFuture<List<String>> named = ports(qmp, "/machine/peripheral");
        CompletableFuture<List<String>> anonymous = ports(qmp, "/machine/peripheral-anon");
        return named.thenCombine(anonymous, (a, b) -> {
            List<String> all = new ArrayList<>(a);
            all.addAll(b);
            return all;
        }).thenCompose(paths -> {
            List<CompletableFuture<Optional<String>>> chardevs = paths.stream()
                    .map(p -> qomGet(qmp, p, "name").thenCompose(name -> portName.equals(name)
                            ? qomGet(qmp, p, "chardev").thenApply(Optional::of)
                            : CompletableFuture.completedFuture(Optional.<String>empty())))
                    .toList();
            return CompletableFuture.allOf(chardevs.toArray(CompletableFuture[]::new))
                    .thenApply(v -> chardevs.stream().map(CompletableFuture::join).flatMap(Optional::stream)
                            .findFirst());
        }).thenCompose(chardev -> chardev.isEmpty()
                ? CompletableFuture.completedFuture(Optional.<Path>empty())
                : qmp.execute("query-chardev", null).thenApply(list -> socketOf(list, chardev.get())));
    }

    /** The path of a listening unix socket chardev named {@code label} in a {@code query-chardev} answer. */
    static Optional<Path> socketOf(Json chardevs, String label) {
        for (Json c : chardevs.elements()) {
            if (!label.equals(c.require("label").asString())) {
                continue;
            }
            String f = c.require("filename").asString();
            // A listening socket without a client reads "disconnected:unix:PATH,server=on".
            if (f.startsWith("disconnected:")) {
                f = f.substring("disconnected:".length());
            }
            if (!f.startsWith("unix:") || !f.contains(",server")) {
                return Optional.empty();
            }
            int comma = f.indexOf(',');
            return Optional.of(Path.of(f.substring("unix:".length(), comma)));
        }
        return Optional.empty();
    }

    private static CompletableFuture<List<String>> ports(QmpClient qmp, String container) {
        return qmp.execute("qom-list", JsonObject.builder().put("path", container).build())
                .thenApply(children -> children.elements().stream()
                        .filter(c -> c.require("type").asString().equals("child<virtserialport>"))
                        .map(c -> container + "/" + c.require("name").asString())
                        .toList())
                .exceptionally(e -> {
                    // A machine without anonymous devices may lack the container.
                    if (e.getCause() instanceof QmpErrorException || e instanceof QmpErrorException) {
                        return List.of();
                    }
                    throw e instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(e);
                });
    }

    private static CompletableFuture<String> qomGet(QmpClient qmp, String path, String property) {
        return qmp.execute("qom-get", JsonObject.builder().put("path", path).put("property", property).build())
                .thenApply(Json::asString);
    }
}
