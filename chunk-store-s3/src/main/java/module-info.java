/** The chunk store on S3-compatible object storage: {@link org.vmbackup.store.s3.S3Backend}. */
module org.vmbackup.store.s3 {
    requires transitive org.vmbackup.store;
    requires software.amazon.awssdk.services.s3;
    requires software.amazon.awssdk.core;
    requires software.amazon.awssdk.awscore;
    requires software.amazon.awssdk.auth;
    requires software.amazon.awssdk.regions;
    requires software.amazon.awssdk.http;
    requires software.amazon.awssdk.http.apache5;
    requires software.amazon.awssdk.utils;
    requires software.amazon.awssdk.retries.api;
    requires software.amazon.awssdk.retries;
    requires org.slf4j;
    exports org.vmbackup.store.s3;
}
