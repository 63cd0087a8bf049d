/** A deduplicating chunk store of VM snapshots (disks, VM state, configuration blobs). */
module org.vmbackup.store {
    requires com.github.luben.zstd_jni;
    requires com.fasterxml.jackson.core;
    requires org.slf4j;
    requires jdk.unsupported; // ExtendedOpenOption.DIRECT: chunk objects bypass the page cache
    exports org.vmbackup.store;
}
