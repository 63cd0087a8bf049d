package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.ArchiveVisitor;
import org.vmbackup.core.RestoreFormat;
import org.vmbackup.core.RestoredDisk;

/**
 * The disk half of a restore of the running state ({@link org.vmbackup.core.RestoreVmSession}), before QEMU activates
 * its disks: raw images are rewritten in place; a qcow2 image receives its disk through a raw copy in the work
 * directory and {@code qemu-img convert -n} (QEMU re-reads the metadata when it activates the disk).
 */
public final class RestoreVmDiskWriter {
    private RestoreVmDiskWriter() {
    }

    /**
     * One pass over the archive: the disks into their images, the VM state into {@code spool} (if any). The limiter
     * counts the disk data written; the VM state is counted when it is fed to QEMU, not spooled.
     *
     * @param matches the archive disks with QEMU's image files, in archive order
     * @param work where a qcow2 disk's raw copy is made (removed after its {@code qemu-img convert -n})
     * @param progress told about a disk that advanced or is done
     * @return the disks written, in the order of {@code matches}
     */
    public static List<RestoredDisk> write(ArchiveSource source, List<RestoreDiskMatch> matches,
            RestoreVmstateSpool spool, Path work, RateLimiter limiter, CancelSignal cancel, Path qemuImg,
            long bandwidthLimit, RestoreProgressReporter progress) throws IOException {
        ArchiveLayout layout = source.layout();
        RestoreImageFile[] byDisk = new RestoreImageFile[layout.disks().size()];
        List<RestoreImageFile> files = new ArrayList<>();
        try {
            for (RestoreDiskMatch m : matches) {
                RestoreImageFile f;
                if ("raw".equals(m.driver())) {
                    f = RestoreImageFile.overwrite(m.device(), Path.of(m.file()));
                } else {
                    Path raw = RestoreNames.imagePath(work, m.device().name(), "raw");
                    f = RestoreImageFile.create(m.device(), RestoreNames.tempPath(raw), raw);
                }
                files.add(f);
                byDisk[layout.disks().indexOf(m.device())] = f;
            }
            ArchiveVisitor toSpool = spool == null ? null : new ArchiveVisitor() {
                @Override
                public void data(int disk, long offset, ByteBuffer data) {
                }

                @Override
                public void zero(int disk, long offset, long length) {
                }

                @Override
                public void vmstate(long offset, ByteBuffer data) throws IOException {
                    spool.write(offset, data);
                }
            };
            source.read(new RestoreImageWriter(byDisk, limiter, progress::disk, toSpool, cancel));
            List<RestoredDisk> out = new ArrayList<>();
            for (int i = 0; i < files.size(); i++) {
                RestoreImageFile f = files.get(i);
                RestoreDiskMatch m = matches.get(i);
                f.commit();
                Path image = Path.of(m.file());
                RestoreFormat format = RestoreFormat.RAW;
                if (!"raw".equals(m.driver())) {
                    try {
                        RestoreQemuImg.convertInto(qemuImg, "raw", f.target().toString(), m.driver(), image,
                                bandwidthLimit);
                    } finally {
                        Files.deleteIfExists(f.target());
                    }
                    format = RestoreFormat.QCOW2;
                }
                progress.diskFinished(f.device().name());
                out.add(new RestoredDisk(f.device().name(), image, format, f.device().size(), f.dataBytes()));
            }
            return out;
        } finally {
            files.forEach(RestoreImageFile::close);
        }
    }
}
