package org.vmbackup.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RequiredToolTest {

    @Test
    void everyToolNamesTheDebianPackageInItsMissingMessage() {
        for (RequiredTool tool : RequiredTool.values()) {
            String message = tool.find().isPresent() ? null : missingMessage(tool);
            if (message != null) {
                assertThat(message).contains(tool.command()).contains("apt-get install " + tool.debianPackage());
            }
            assertThat(tool.debianPackage()).isNotBlank();
        }
    }

    @Test
    void accelIsKvmExactlyWhenDevKvmIsUsableUnlessChosen() {
        String chosen = System.getenv("VMBACKUP_ACCEL");
        if (chosen != null && !chosen.isBlank()) {
            assertThat(Accel.detect().qemuName()).isEqualTo(chosen.strip().toLowerCase(java.util.Locale.ROOT));
            return;
        }
        java.nio.file.Path kvm = java.nio.file.Path.of("/dev/kvm");
        boolean usable = java.nio.file.Files.isReadable(kvm) && java.nio.file.Files.isWritable(kvm);
        assertThat(Accel.detect()).isEqualTo(usable ? Accel.KVM : Accel.TCG);
    }

    private static String missingMessage(RequiredTool tool) {
        try {
            tool.path();
            return null;
        } catch (IllegalStateException e) {
            return e.getMessage();
        }
    }
}
