/** The vmabackup command line. */
module org.vmbackup.cli {
    requires org.vmbackup.core;
    requires org.vmbackup.store;
    requires org.vmbackup.store.s3;
    requires info.picocli;
    requires org.slf4j;
    exports org.vmbackup.cli;
    opens org.vmbackup.cli to info.picocli;
}
