package org.vmbackup.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/** The QEMU accelerator a throwaway VM uses: KVM when this process may open {@code /dev/kvm}, TCG otherwise. */
public enum Accel {
    KVM("kvm"),
    TCG("tcg");

    private final String qemuName;

    Accel(String qemuName) {
        this.qemuName = qemuName;
    }

    /** The name {@code -accel} takes. */
    public String qemuName() {
        return qemuName;
    }

    /**
     * KVM if {@code /dev/kvm} is readable and writable by this process, else TCG; the environment variable
     * {@code VMBACKUP_ACCEL=tcg} (or {@code kvm}) chooses, e.g. to run the suite as a machine without KVM would.
     */
    public static Accel detect() {
        String chosen = System.getenv("VMBACKUP_ACCEL");
        if (chosen != null && !chosen.isBlank()) {
            for (Accel a : values()) {
                if (a.qemuName.equalsIgnoreCase(chosen.strip())) {
                    return a;
                }
            }
            throw new IllegalStateException("VMBACKUP_ACCEL=" + chosen + " is neither kvm nor tcg");
        }
        Path kvm = Path.of("/dev/kvm");
        return Files.isReadable(kvm) && Files.isWritable(kvm) ? KVM : TCG;
    }
}
