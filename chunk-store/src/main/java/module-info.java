/** A deduplicating chunk store of VM snapshots (disks, VM state, configuration blobs). */
module org.vmbackup.store {
    requires com.github.luben.zstd_jni;
    requires com.fasterxml.jackson.core;
    requires org.slf4j;
    exports org.vmbackup.store;
}
