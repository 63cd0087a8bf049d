package org.vmbackup.store.s3;

import java.util.regex.Pattern;

/**
 * Where a store lives on S3: a bucket and a key prefix, written {@code s3://BUCKET/PREFIX} ({@code s3://BUCKET}
 * for the whole bucket). Every object of the store is {@code PREFIX/NAME}.
 *
 * @param bucket the bucket name
 * @param prefix the key prefix, empty or ending in {@code /}
 */
public record S3Location(String bucket, String prefix) {
    /** The scheme that marks a store on S3 wherever a store is named. */
    public static final String SCHEME = "s3://";
    // S3's bucket rules (3-63 of lower-case letters, digits, dots, hyphens; a letter or digit at both ends)
    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9._:-]+(/[A-Za-z0-9._:-]+)*");

    /** Checks the parts. */
    public S3Location {
        if (!BUCKET.matcher(bucket).matches()) {
            throw new IllegalArgumentException("'" + bucket + "' is not an S3 bucket name (3 to 63 lower-case "
                    + "letters, digits, dots or hyphens)");
        }
        if (!prefix.isEmpty() && !(prefix.endsWith("/") && PREFIX.matcher(prefix.substring(0, prefix.length() - 1)).matches())) {
            throw new IllegalArgumentException("'" + prefix + "' is not a usable key prefix (letters, digits and "
                    + ". _ : - between slashes)");
        }
    }

    /**
     * Whether {@code store} names a store on S3.
     *
     * @param store a store argument (a directory or an {@code s3://} URL)
     * @return true for {@code s3://...}
     */
    public static boolean isS3(String store) {
        return store.startsWith(SCHEME);
    }

    /**
     * Parses {@code s3://BUCKET/PREFIX}; slashes at the prefix's ends are optional.
     *
     * @param url the URL
     * @return the location
     * @throws IllegalArgumentException naming what is wrong, in words
     */
    public static S3Location parse(String url) {
        if (!isS3(url)) {
            throw new IllegalArgumentException("'" + url + "' is not an S3 store (s3://BUCKET/PREFIX)");
        }
        String rest = url.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        while (prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        if (bucket.isEmpty()) {
            throw new IllegalArgumentException("'" + url + "' names no bucket (s3://BUCKET/PREFIX)");
        }
        return new S3Location(bucket, prefix.isEmpty() ? "" : prefix + "/");
    }

    /**
     * The key of object {@code name}.
     *
     * @param name the store's object name
     * @return the S3 key
     */
    public String key(String name) {
        return prefix + name;
    }

    @Override
    public String toString() {
        return SCHEME + bucket + "/" + prefix;
    }
}
