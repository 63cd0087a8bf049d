package org.vmbackup.store.s3;

import org.vmbackup.store.StoreException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;

/** Turns the SDK's exceptions into one line in words, naming the store, the operation and the object. */
final class S3Errors {
    private S3Errors() {
    }

    static boolean isStatus(SdkException e, int status) {
        return e instanceof AwsServiceException s && s.statusCode() == status;
    }

    static String code(SdkException e) {
        if (e instanceof AwsServiceException s && s.awsErrorDetails() != null && s.awsErrorDetails().errorCode() != null) {
            return s.awsErrorDetails().errorCode();
        }
        return "";
    }

    static StoreException translate(S3Location where, String what, SdkException e) {
        String store = "store " + where;
        String code = code(e);
        int status = e instanceof AwsServiceException s ? s.statusCode() : 0;
        if (code.equals("NoSuchBucket")) {
            return new StoreException(store + ": the S3 bucket '" + where.bucket() + "' does not exist", e);
        }
        if (code.equals("InvalidAccessKeyId") || code.equals("SignatureDoesNotMatch") || status == 401
                || (status == 403 && !code.equals("AccessDenied"))) {
            return new StoreException(store + ": the S3 server refused the credentials (" + (code.isEmpty() ? status : code)
                    + "); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE", e);
        }
        if (code.equals("AccessDenied")) {
            return new StoreException(store + ": access denied to " + what + " (the credentials lack permission)", e);
        }
        if (e instanceof AwsServiceException s) {
            String msg = s.awsErrorDetails() != null && s.awsErrorDetails().errorMessage() != null
                    ? s.awsErrorDetails().errorMessage() : "";
            return new StoreException(store + ": " + what + " failed: HTTP " + status + (code.isEmpty() ? "" : " " + code)
                    + (msg.isEmpty() ? "" : " (" + msg + ")"), e);
        }
        return new StoreException(store + ": " + what + " failed: " + rootMessage(e), e);
    }

    /** The innermost message, which says what went wrong on the wire (refused, reset, timed out). */
    private static String rootMessage(Throwable e) {
        String msg = e.getMessage();
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                msg = t.getMessage();
            }
        }
        return msg == null ? "no answer from the S3 server" : msg.lines().findFirst().orElse(msg);
    }
}
