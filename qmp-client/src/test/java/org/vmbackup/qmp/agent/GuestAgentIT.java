package org.vmbackup.qmp.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpErrorClass;
import org.vmbackup.qmp.QmpErrorException;
import org.vmbackup.qmp.QmpTimeoutException;
import org.vmbackup.testkit.QemuInstall;
import org.vmbackup.testkit.RawQmp;
import org.vmbackup.testkit.guest.GuestRecords;
import org.vmbackup.testkit.guest.GuestVm;
import org.vmbackup.testkit.guest.TinyGuest;

/**
 * The guest agent client against qemu-ga in a real Linux guest (testkit's tiny guest, TCG in CI): a freeze stops
 * the guest's writes and leaves a clean file system on the disk while the guest keeps running; the thaw resumes
 * the writes. Timeouts are generous because a loaded 2-core machine boots the guest in tens of seconds.
 */
class GuestAgentIT {
    private static final Logger log = LoggerFactory.getLogger(GuestAgentIT.class);
    private static final Duration BOOT = Duration.ofMinutes(4);
    private static final Duration WAIT = Duration.ofMinutes(2);

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(3, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void freezeStallsTheGuestsWritesButNotTheGuestAndThawResumesThem() throws Exception {
        TinyGuest guest = TinyGuest.build();
        long start = System.nanoTime();
        try (GuestVm vm = GuestVm.builder(guest).start()) {
            // Connect while the guest boots: the agent answers the held sync request once it starts.
            CompletableFuture<GuestAgentClient> connecting = GuestAgentClient.builder(vm.qgaSocket())
                    .timeout(Duration.ofSeconds(60)).freezeTimeout(Duration.ofSeconds(90)).connectTimeout(BOOT)
                    .connect();
            vm.console().awaitTick(1, BOOT);
            log.info("{}: the tiny guest counts {} ms after QEMU started", QemuInstall.current(),
                    (System.nanoTime() - start) / 1_000_000);
            try (QmpClient qmp = await(QmpClient.connect(vm.qemu().qmpSocket()))) {
                assertThat(await(GuestAgentSocket.find(qmp))).as("the agent's socket found through QMP")
                        .hasValue(vm.qgaSocket());
                assertThat(await(GuestAgentSocket.find(qmp, "org.example.none"))).isEmpty();
            }
            try (GuestAgentClient qga = await(connecting)) {
                await(qga.ping());
                GuestAgentInfo info = await(qga.info());
                assertThat(info.version()).matches("\\d+\\.\\d+.*");
                assertThat(info.supports("guest-fsfreeze-freeze")).isTrue();
                assertThat(info.supports("guest-fsfreeze-thaw")).isTrue();
                assertThat(await(qga.freezeStatus())).isEqualTo(GuestFsFreezeStatus.THAWED);
                vm.console().awaitRecord(3, WAIT);

                assertThat(await(qga.freeze())).as("file systems frozen: the ext4 data disk").isEqualTo(1);
                long recordAtFreeze = vm.console().lastRecord().orElseThrow();
                long tickAtFreeze = vm.console().lastTick().orElseThrow();
                assertThat(await(qga.freezeStatus())).isEqualTo(GuestFsFreezeStatus.FROZEN);
                assertThatThrownBy(() -> await(qga.execute("guest-get-fsinfo", null, Duration.ofSeconds(60))))
                        .isInstanceOfSatisfying(QmpErrorException.class,
                                e -> assertThat(e.errorClass()).isEqualTo(QmpErrorClass.CommandNotFound));

                // The guest goes on (the console counter), its writer does not: at most the record whose fsync
                // finished just before the freeze is announced after it.
                vm.console().awaitTick(tickAtFreeze + 20, WAIT);
                assertThat(vm.console().lastRecord().orElseThrow()).isLessThanOrEqualTo(recordAtFreeze + 1);

                // Frozen means flushed: the image on the host is a clean file system with every record intact.
                GuestRecords.Fsck fsck = GuestRecords.fsck(guest, vm.dataDisk());
                assertThat(fsck.clean()).as("e2fsck -fn of the frozen disk: %s", fsck.output()).isTrue();
                assertThat(fsck.needsRecovery()).isFalse();
                GuestRecords records = GuestRecords.read(guest, vm.dataDisk());
                assertThat(records.problems()).isEmpty();
                assertThat(records.tornTail()).isEmpty();
                assertThat(records.last()).isBetween(recordAtFreeze, recordAtFreeze + 1);

                assertThat(await(qga.thaw())).isEqualTo(1);
                assertThat(await(qga.freezeStatus())).isEqualTo(GuestFsFreezeStatus.THAWED);
                vm.console().awaitRecord(recordAtFreeze + 3, WAIT);
                // Thawing twice is harmless: nothing left to thaw.
                assertThat(await(qga.thaw())).isEqualTo(0);

                // A stopped guest cannot answer (as during a backup's pause): a bounded timeout; after cont, the
                // next call discards the late replies and works.
                try (RawQmp qmp = RawQmp.connect(vm.qemu().qmpSocket())) {
                    assertThat(qmp.execute("{\"execute\":\"stop\"}")).contains("return");
                    assertThatThrownBy(() -> await(qga.execute("guest-ping", null, Duration.ofSeconds(3))))
                            .isInstanceOf(QmpTimeoutException.class);
                    assertThat(qmp.execute("{\"execute\":\"cont\"}")).contains("return");
                }
                await(qga.ping());
                assertThat(await(qga.freezeStatus())).isEqualTo(GuestFsFreezeStatus.THAWED);
            }
        }
    }
}
