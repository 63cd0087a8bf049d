package org.vmbackup.testkit.guest;

/**
 * Prepares the tiny guest's cache before a test run (CI), so the first test that boots it does not pay for the
 * build and a machine that cannot build it fails early. Prints the cache directory.
 *
 * <p>{@code .ci/tiny-guest} runs it with testkit's class path.
 */
public final class TinyGuestMain {
    private TinyGuestMain() {
    }

    /**
     * Builds or reuses the guest.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        long start = System.nanoTime();
        TinyGuest guest;
        try {
            guest = TinyGuest.build();
        } catch (IllegalStateException e) {
            System.err.println(e.getMessage());
            System.exit(1);
            return;
        }
        System.err.printf("tiny guest %s (kernel %s, %d packages) ready in %d ms%n", guest.key(),
                guest.kernelVersion(), guest.packages().size(), (System.nanoTime() - start) / 1_000_000);
        System.out.println(guest.dir());
    }
}
