/** Proxmox VMA archive encoder and decoder. */
module org.vmbackup.vma {
    requires com.github.luben.zstd_jni;
    requires org.slf4j;
    requires jdk.unsupported;
    exports org.vmbackup.vma;
}
