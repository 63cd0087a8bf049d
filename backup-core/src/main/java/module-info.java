/** Live backup and restore sessions composing QMP, NBD and VMA. */
module org.vmbackup.core {
    requires transitive org.vmbackup.qmp;
    requires transitive org.vmbackup.nbd;
    requires transitive org.vmbackup.vma;
    requires transitive org.vmbackup.store;
    requires io.netty.buffer;
    requires org.slf4j;
    exports org.vmbackup.core;
    exports org.vmbackup.core.vma;
}
