package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.unix.FileDescriptor;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.command.MigrationCommands;
import org.vmbackup.qmp.command.QueryCommands;
import org.vmbackup.testkit.QemuProcess;

class QmpSmokeIT {
    @Test
    void smoke() throws Exception {
        try (QemuProcess vm = QemuProcess.system().start();
                QmpClient qmp = QmpClient.connect(vm.qmpSocket()).get()) {
            System.out.println(qmp.greeting());
            System.out.println(qmp.execute(new QueryCommands.QueryStatus()).get());
            FileDescriptor[] pipe = FileDescriptor.pipe();
            qmp.getfd("vmstate", pipe[1]).get();
            System.out.println("getfd ok");
            qmp.execute(new MigrationCommands.Migrate("fd:vmstate")).get();
            pipe[1].close();
            ByteBuffer buf = ByteBuffer.allocateDirect(16);
            int n = 0;
            long end = System.nanoTime() + 10_000_000_000L;
            while (n <= 0 && System.nanoTime() < end) {
                n = pipe[0].read(buf, 0, 16);
                Thread.sleep(10);
            }
            byte[] b = new byte[Math.max(n, 0)];
            buf.get(0, b);
            System.out.println("read " + n + " " + new String(b, 0, Math.min(4, b.length)));
            assertThat(new String(b, 0, 4)).isEqualTo("QEVM");
        }
    }
}
