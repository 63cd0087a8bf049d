/** Test fixtures that start and always stop throwaway QEMU processes. */
module org.vmbackup.testkit {
    requires org.slf4j;
    exports org.vmbackup.testkit;
    exports org.vmbackup.testkit.guest;
}
