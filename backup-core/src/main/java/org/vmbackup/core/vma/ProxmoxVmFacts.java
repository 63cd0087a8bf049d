package org.vmbackup.core.vma;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpClient;

/**
 * What a generated Proxmox config needs that {@code vm.json} does not hold, asked from QEMU: the VM's name
 * ({@code query-name}) and its vCPU count ({@code query-cpus-fast}).
 *
 * @param name the {@code -name} QEMU was given, or empty
 * @param cpus the number of vCPUs
 */
public record ProxmoxVmFacts(String name, int cpus) {
    /**
     * Asks {@code client}, waiting at most {@code timeout} per command.
     *
     * @throws Exception when QEMU does not answer
     */
    public static ProxmoxVmFacts query(QmpClient client, Duration timeout) throws Exception {
        Json name = client.execute("query-name", JsonObject.EMPTY).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        Json cpus = client.execute("query-cpus-fast", JsonObject.EMPTY)
                .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        return new ProxmoxVmFacts(name.opt("name").map(Json::asString).orElse(""), cpus.elements().size());
    }
}
