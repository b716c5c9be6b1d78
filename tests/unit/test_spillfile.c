/*
 * test_spillfile.c: unit tests of chunk file writing and reading
 * (io/spillfile.c), on both backends.
 *
 * Files go to a fresh directory under $TMPDIR (or /tmp).  Two tests run in a
 * forked child so that what they change stays there:
 *   - ENOSPC: the child enters a private mount namespace (directly as root,
 *     else inside a new user namespace) and mounts a 256 kB tmpfs; where
 *     neither is allowed the test is skipped, saying why;
 *   - io_uring refused: the child installs a seccomp filter that fails
 *     io_uring_setup with EPERM, as container runtimes do.
 * The io_uring cases are skipped where the kernel refuses io_uring.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/spillfile.h"

/* ---- helpers ---- */


/*
 * The calls under test, with the message of a failure (or spillfile_create's
 * note of a fallback) in one buffer, as the checks below read them.
 */
static int
create_into(int dir_fd, const char *name, spillfile_io_kind kind, spillfile **out, char *why, size_t whylen)
{
	sl_err		err;
	int			rc;

	err_clear(&err);
	rc = spillfile_create(dir_fd, name, kind, out, why, whylen, &err);
	if (rc < 0)
		snprintf(why, whylen, "%s", err.msg);
	return rc;
}

static int
dir_create_into(const char *path, int *dir_fd, char *why, size_t whylen)
{
	sl_err		err;
	int			rc;

	err_clear(&err);
	rc = spillfile_dir_create(path, dir_fd, &err);
	snprintf(why, whylen, "%s", err.msg);
	return rc;
}

static int
open_into(int dir_fd, const char *name, spillfile_reader **out, char *why, size_t whylen)
{
	sl_err		err;
	int			rc;

	err_clear(&err);
	rc = spillfile_open(dir_fd, name, out, &err);
	snprintf(why, whylen, "%s", err.msg);
	return rc;
}

static char *
make_temp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char	   *path = NULL;

	cr_assert_geq(asprintf(&path, "%s/test_spillfile.XXXXXX", tmp && *tmp ? tmp : "/tmp"), 0);
	cr_assert_not_null(mkdtemp(path), "mkdtemp: %s", strerror(errno));
	return path;
}

/* Removes dir and the files in it (no subdirectories are made here). */
static void
remove_temp_dir(char *path)
{
	DIR		   *d = opendir(path);
	struct dirent *e;

	if (d != NULL)
	{
		while ((e = readdir(d)) != NULL)
		{
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	}
	rmdir(path);
	free(path);
}

static int
count_entries(int dir_fd)
{
	int			fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY);
	DIR		   *d = fdopendir(fd);
	struct dirent *e;
	int			n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
	{
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static uint8_t *
random_data(size_t n, uint64_t seed)
{
	uint8_t    *p = malloc(n);
	uint64_t	x = seed | 1;

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++)
	{
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t) (x >> 32);
	}
	return p;
}

/* Creates name in dir_fd with kind, skipping the test where io_uring is refused. */
static spillfile *
create_or_skip(int dir_fd, const char *name, spillfile_io_kind kind)
{
	spillfile *f = NULL;
	char		why[256];
	int			rc = create_into(dir_fd, name, kind, &f, why, sizeof(why));

	if (rc < 0 && kind == SPILLFILE_IO_URING)
		cr_skip_test("io_uring refused here: %s", why);
	cr_assert_eq(rc, 0, "create_into(\"%s\"): %d (%s)", name, rc, why);
	if (kind == SPILLFILE_IO_AUTO && strcmp(spillfile_backend(f), "pwrite") == 0)
		cr_assert_neq(why[0], '\0', "fell back to pwrite without saying why");
	else
		cr_assert_str_empty(why, "why is \"%s\" with backend %s", why, spillfile_backend(f));
	if (kind == SPILLFILE_IO_PWRITE)
		cr_assert_str_eq(spillfile_backend(f), "pwrite");
	if (kind == SPILLFILE_IO_URING)
		cr_assert_str_eq(spillfile_backend(f), "io_uring");
	return f;
}

/* Reads name back through the reader and compares it with want. */
static void
assert_file_holds(int dir_fd, const char *name, const uint8_t *want, size_t want_len, size_t cap)
{
	spillfile_reader *r = NULL;
	char		err[256];
	uint8_t    *buf = malloc(cap);
	size_t		have = 0;
	int			rc;

	cr_assert_not_null(buf);
	rc = open_into(dir_fd, name, &r, err, sizeof(err));
	cr_assert_eq(rc, 0, "open_into(\"%s\"): %d (%s)", name, rc, err);
	cr_assert_eq(spillfile_reader_size(r), want_len, "size %llu, want %zu",
				 (unsigned long long) spillfile_reader_size(r), want_len);
	while ((rc = spillfile_read(r, buf, cap)) > 0)
	{
		cr_assert_leq(have + (size_t) rc, want_len, "more than %zu bytes read", want_len);
		cr_assert_eq(memcmp(buf, want + have, (size_t) rc), 0, "bytes %zu..%zu differ", have, have + rc);
		have += (size_t) rc;
	}
	cr_assert_eq(rc, 0, "spillfile_read: %d (%s)", rc, spillfile_reader_error(r));
	cr_assert_eq(have, want_len, "read %zu bytes, want %zu", have, want_len);
	cr_assert_eq(spillfile_read(r, buf, cap), 0, "a second read at the end is not 0");
	spillfile_close(r);
	free(buf);
}

/* ---- writing and reading back ---- */

ParameterizedTestParameters(spillfile, writes_and_reads_back)
{
	static spillfile_io_kind kinds[] = {SPILLFILE_IO_PWRITE, SPILLFILE_IO_URING, SPILLFILE_IO_AUTO};

	return cr_make_param_array(spillfile_io_kind, kinds, 3);
}

ParameterizedTest(spillfile_io_kind *kind, spillfile, writes_and_reads_back, .timeout = 60)
{
	char	   *dir = make_temp_dir();
	int			dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	size_t		total = 5 * SPILL_FILE_BUFFER_SIZE + 333;
	uint8_t    *data = random_data(total, 42 + (uint64_t) *kind);
	static const size_t pieces[] = {1, 4095, SPILL_FILE_BUFFER_SIZE, 3 * SPILL_FILE_BUFFER_SIZE, 77777};
	spillfile *f = create_or_skip(dir_fd, "chunk", *kind);
	size_t		pos = 0;
	int			rc;

	for (int i = 0; pos < total; i++)
	{
		size_t		n = pieces[i % 5] < total - pos ? pieces[i % 5] : total - pos;

		rc = spillfile_write(f, data + pos, n);
		cr_assert_eq(rc, 0, "write at %zu: %d (%s)", pos, rc, spillfile_error(f));
		pos += n;
	}
	cr_assert_eq(spillfile_size(f), total, "size %llu, want %zu", (unsigned long long) spillfile_size(f), total);
	rc = spillfile_commit(f);
	cr_assert_eq(rc, 0, "commit: %d (%s)", rc, spillfile_error(f));
	cr_assert_eq(spillfile_write(f, data, 1), -EINVAL, "a write after commit");
	cr_assert_eq(spillfile_abort(f), -EINVAL, "an abort after commit");
	spillfile_destroy(f);

	assert_file_holds(dir_fd, "chunk", data, total, 100000);
	assert_file_holds(dir_fd, "chunk", data, total, 4 << 20);
	cr_assert_eq(count_entries(dir_fd), 1, "entries besides the file");
	free(data);
	close(dir_fd);
	remove_temp_dir(dir);
}

ParameterizedTestParameters(spillfile, final_name_appears_only_at_commit_with_mode_0600)
{
	static spillfile_io_kind kinds[] = {SPILLFILE_IO_PWRITE, SPILLFILE_IO_URING};

	return cr_make_param_array(spillfile_io_kind, kinds, 2);
}

ParameterizedTest(spillfile_io_kind *kind, spillfile, final_name_appears_only_at_commit_with_mode_0600, .timeout = 30)
{
	char	   *dir = make_temp_dir();
	int			dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	spillfile *f = create_or_skip(dir_fd, "t1.c2", *kind);
	struct stat st;
	uint8_t    *data = random_data(2 * SPILL_FILE_BUFFER_SIZE + 5, 7);

	cr_assert_eq(fstatat(dir_fd, "t1.c2.part", &st, 0), 0, "no .part file after create");
	cr_assert_eq(st.st_mode & 07777, 0600, ".part file has mode %04o, want 0600", st.st_mode & 07777);
	cr_assert_eq(spillfile_write(f, data, 2 * SPILL_FILE_BUFFER_SIZE + 5), 0, "%s", spillfile_error(f));
	cr_assert_neq(fstatat(dir_fd, "t1.c2", &st, 0), 0, "the final name exists before commit");
	cr_assert_eq(spillfile_commit(f), 0, "%s", spillfile_error(f));
	cr_assert_neq(fstatat(dir_fd, "t1.c2.part", &st, 0), 0, "the .part file is still there after commit");
	cr_assert_eq(fstatat(dir_fd, "t1.c2", &st, 0), 0, "no final file after commit");
	cr_assert_eq(st.st_mode & 07777, 0600, "final file has mode %04o, want 0600", st.st_mode & 07777);
	cr_assert_eq((size_t) st.st_size, 2 * SPILL_FILE_BUFFER_SIZE + 5, "final file has %lld bytes",
				 (long long) st.st_size);
	spillfile_destroy(f);

	/* An empty file commits too. */
	f = create_or_skip(dir_fd, "empty", *kind);
	cr_assert_eq(spillfile_commit(f), 0, "%s", spillfile_error(f));
	spillfile_destroy(f);
	assert_file_holds(dir_fd, "empty", NULL, 0, 16);
	free(data);
	close(dir_fd);
	remove_temp_dir(dir);
}

ParameterizedTestParameters(spillfile, abort_leaves_nothing)
{
	static spillfile_io_kind kinds[] = {SPILLFILE_IO_PWRITE, SPILLFILE_IO_URING};

	return cr_make_param_array(spillfile_io_kind, kinds, 2);
}

ParameterizedTest(spillfile_io_kind *kind, spillfile, abort_leaves_nothing, .timeout = 30)
{
	char	   *dir = make_temp_dir();
	int			dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	size_t		total = 7 * SPILL_FILE_BUFFER_SIZE / 2;
	uint8_t    *data = random_data(total, 9);
	spillfile *f = create_or_skip(dir_fd, "gone", *kind);

	/* Several writes in flight when the abort comes. */
	cr_assert_eq(spillfile_write(f, data, total), 0, "%s", spillfile_error(f));
	cr_assert_eq(spillfile_abort(f), 0, "abort: %s", spillfile_error(f));
	cr_assert_eq(spillfile_abort(f), 0, "a second abort");
	cr_assert_eq(spillfile_commit(f), -EINVAL, "a commit after abort");
	spillfile_destroy(f);
	cr_assert_eq(count_entries(dir_fd), 0, "files left after abort");

	/* Destroy without commit aborts. */
	f = create_or_skip(dir_fd, "dropped", *kind);
	cr_assert_eq(spillfile_write(f, data, total), 0, "%s", spillfile_error(f));
	spillfile_destroy(f);
	cr_assert_eq(count_entries(dir_fd), 0, "files left after destroy");
	spillfile_destroy(NULL);
	free(data);
	close(dir_fd);
	remove_temp_dir(dir);
}

Test(spillfile, refuses_an_existing_part_file_and_bad_names, .timeout = 30)
{
	char	   *dir = make_temp_dir();
	int			dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	spillfile *f = NULL;
	spillfile *again = NULL;
	char		why[256];
	char		long_name[300];
	const char *bad[] = {"", "a/b", ".", "..", long_name};

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	cr_assert_eq(create_into(dir_fd, "x", SPILLFILE_IO_PWRITE, &f, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(create_into(dir_fd, "x", SPILLFILE_IO_PWRITE, &again, why, sizeof(why)), -EEXIST);
	cr_assert_null(again);
	cr_assert(strstr(why, "could not create spill file \"x.part\"") && strstr(why, "File exists"),
			  "message \"%s\"", why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		int			rc = create_into(dir_fd, bad[i], SPILLFILE_IO_AUTO, &again, why, sizeof(why));

		cr_assert_eq(rc, -EINVAL, "name \"%.20s\": %d, want %d", bad[i], rc, -EINVAL);
		cr_assert(strstr(why, "invalid spill file name"), "message \"%s\"", why);
	}
	/* The caller's descriptor may go: the file keeps its own. */
	close(dir_fd);
	cr_assert_eq(spillfile_commit(f), 0, "%s", spillfile_error(f));
	spillfile_destroy(f);
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	cr_assert_eq(count_entries(dir_fd), 1);
	close(dir_fd);
	remove_temp_dir(dir);
}

/* ---- directory ---- */

Test(spillfile, dir_create_makes_0700_and_checks_an_existing_one, .timeout = 30)
{
	char	   *dir = make_temp_dir();
	char	   *sub = NULL;
	char	   *file = NULL;
	char		err[512];
	struct stat st;
	mode_t		old_umask;
	int			dir_fd = -1;
	int			rc;

	cr_assert_geq(asprintf(&sub, "%s/spill", dir), 0);
	cr_assert_geq(asprintf(&file, "%s/plain", dir), 0);
	old_umask = umask(0277);	/* would leave the owner without write access */
	rc = dir_create_into(sub, &dir_fd, err, sizeof(err));
	umask(old_umask);
	cr_assert_eq(rc, 0, "new directory: %d (%s)", rc, err);
	cr_assert_geq(dir_fd, 0);
	cr_assert_eq(fstat(dir_fd, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0700, "new directory has mode %04o, want 0700", st.st_mode & 07777);
	close(dir_fd);

	rc = dir_create_into(sub, &dir_fd, err, sizeof(err));
	cr_assert_eq(rc, 0, "existing 0700 directory: %d (%s)", rc, err);
	close(dir_fd);

	cr_assert_eq(chmod(sub, 0755), 0);
	rc = dir_create_into(sub, &dir_fd, err, sizeof(err));
	cr_assert_eq(rc, -EPERM, "existing 0755 directory: %d (%s), want %d", rc, err, -EPERM);
	cr_assert_eq(dir_fd, -1);
	cr_assert(strstr(err, "has mode 0755: it must be 0700"), "message \"%s\"", err);

	cr_assert_eq(close(open(file, O_CREAT | O_WRONLY, 0600)), 0);
	rc = dir_create_into(file, &dir_fd, err, sizeof(err));
	cr_assert_eq(rc, -ENOTDIR, "a plain file: %d (%s), want %d", rc, err, -ENOTDIR);
	cr_assert(strstr(err, "could not open directory"), "message \"%s\"", err);

	rmdir(sub);
	free(sub);
	free(file);
	remove_temp_dir(dir);
}

Test(spillfile, reader_reports_what_is_wrong, .timeout = 30)
{
	char	   *dir = make_temp_dir();
	int			dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	spillfile_reader *r = NULL;
	char		err[512];
	int			rc;

	rc = open_into(dir_fd, "missing", &r, err, sizeof(err));
	cr_assert_eq(rc, -ENOENT, "missing file: %d, want %d", rc, -ENOENT);
	cr_assert_null(r);
	cr_assert_str_eq(err, "could not open spill file \"missing\": No such file or directory");
	rc = open_into(AT_FDCWD, dir, &r, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL, "a directory: %d, want %d", rc, -EINVAL);
	cr_assert(strstr(err, "is not a regular file"), "message \"%s\"", err);
	spillfile_close(NULL);
	close(dir_fd);
	remove_temp_dir(dir);
}

/* ---- in a child: a full filesystem, io_uring refused ---- */

typedef struct child_report
{
	int			skipped;		/* the child could not set up: why says why */
	int			rc;
	int			rc_other;
	uint64_t	offered;		/* bytes handed to spillfile_write, the failing call's whole */
	int			entries;		/* files in the directory at the end */
	char		backend[16];
	char		why[256];
	char		message[512];
} child_report;

/* Runs body in a child process and returns what it reported. */
static child_report
run_in_child(void (*body) (child_report *, const void *), const void *arg)
{
	int			fds[2];
	pid_t		pid;
	child_report report;
	int			status;
	ssize_t		n;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
	{
		memset(&report, 0, sizeof(report));
		close(fds[0]);
		body(&report, arg);
		n = write(fds[1], &report, sizeof(report));
		_exit(n == (ssize_t) sizeof(report) ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], &report, sizeof(report));
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ended with status %#x", status);
	cr_assert_eq(n, (ssize_t) sizeof(report), "child reported %zd bytes", n);
	return report;
}

static int
write_text(const char *path, const char *text)
{
	int			fd = open(path, O_WRONLY);
	ssize_t		n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t) strlen(text) ? 0 : -EIO;
}

/* Mounts a 256 kB tmpfs at mountpoint, visible to this process only. */
static bool
enter_small_filesystem(const char *mountpoint, char *why, size_t whylen)
{
	uid_t		uid = geteuid();
	gid_t		gid = getegid();

	if (unshare(CLONE_NEWNS) != 0)
	{
		char		map[64];

		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
		{
			snprintf(why, whylen, "no private mount namespace: %s", strerror(errno));
			return false;
		}
		snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
		if (write_text("/proc/self/setgroups", "deny") < 0 || write_text("/proc/self/uid_map", map) < 0)
		{
			snprintf(why, whylen, "could not map the user namespace");
			return false;
		}
		snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
		if (write_text("/proc/self/gid_map", map) < 0)
		{
			snprintf(why, whylen, "could not map the user namespace's group");
			return false;
		}
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		mount("spilltest", mountpoint, "tmpfs", 0, "size=256k,mode=0700") != 0)
	{
		snprintf(why, whylen, "could not mount a small tmpfs: %s", strerror(errno));
		return false;
	}
	return true;
}

typedef struct enospc_args
{
	const char *mountpoint;
	spillfile_io_kind kind;
} enospc_args;

static void
fill_small_filesystem(child_report *report, const void *arg)
{
	const enospc_args *a = arg;
	size_t		total = 3 * SPILL_FILE_BUFFER_SIZE;
	uint8_t    *data;
	spillfile *f = NULL;
	int			dir_fd;

	if (!enter_small_filesystem(a->mountpoint, report->why, sizeof(report->why)))
	{
		report->skipped = 1;
		return;
	}
	dir_fd = open(a->mountpoint, O_RDONLY | O_DIRECTORY);
	data = calloc(1, total);
	report->rc = create_into(dir_fd, "full", a->kind, &f, report->why, sizeof(report->why));
	if (report->rc < 0)
	{
		report->skipped = a->kind == SPILLFILE_IO_URING;
		return;
	}
	snprintf(report->backend, sizeof(report->backend), "%s", spillfile_backend(f));
	for (size_t pos = 0; pos < total && report->rc == 0; pos += 65536)
	{
		report->offered += 65536;
		report->rc = spillfile_write(f, data + pos, 65536);
	}
	if (report->rc == 0)
		report->rc = spillfile_commit(f);
	snprintf(report->message, sizeof(report->message), "%s", spillfile_error(f));
	report->rc_other = spillfile_abort(f);
	spillfile_destroy(f);
	report->entries = count_entries(dir_fd);
	close(dir_fd);
	free(data);
}

ParameterizedTestParameters(spillfile, reports_enospc_with_byte_counts)
{
	static spillfile_io_kind kinds[] = {SPILLFILE_IO_PWRITE, SPILLFILE_IO_URING};

	return cr_make_param_array(spillfile_io_kind, kinds, 2);
}

ParameterizedTest(spillfile_io_kind *kind, spillfile, reports_enospc_with_byte_counts, .timeout = 60)
{
	char	   *dir = make_temp_dir();
	enospc_args args = {dir, *kind};
	child_report report = run_in_child(fill_small_filesystem, &args);
	unsigned long long written = 0, needed = 0;
	const char *counts;

	remove_temp_dir(dir);
	if (report.skipped)
		cr_skip_test("cannot run here: %s", report.why);
	cr_assert_eq(report.rc, -ENOSPC, "%s: rc %d (%s), want %d", report.backend, report.rc, report.message, -ENOSPC);
	cr_assert(strstr(report.message, "could not write spill file \"full.part\": ") &&
			  strstr(report.message, "No space left on device"), "message \"%s\"", report.message);
	counts = strstr(report.message, ": ");
	cr_assert(counts && sscanf(counts, ": %llu bytes written, %llu more needed", &written, &needed) == 2,
			  "message \"%s\" lacks the byte counts", report.message);
	cr_assert_leq(written, 256 * 1024, "%llu bytes written on a 256 kB filesystem", written);
	cr_assert_eq(written + needed, report.offered, "%llu written + %llu needed, want the %llu offered",
				 written, needed, (unsigned long long) report.offered);
	cr_assert_eq(report.rc_other, 0, "abort after ENOSPC: %d", report.rc_other);
	cr_assert_eq(report.entries, 0, "%d files left after abort", report.entries);
}

static void
refuse_io_uring(child_report *report, const void *arg)
{
	const char *dir = arg;
#if defined(__x86_64__)
	const unsigned arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const unsigned arch = AUDIT_ARCH_AARCH64;
#else
	const unsigned arch = 0;
#endif
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(filter) / sizeof(filter[0]), filter};
	spillfile *f = NULL;
	uint8_t    *data;
	int			dir_fd;
	char		why[256];

	if (arch == 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
	{
		report->skipped = 1;
		snprintf(report->why, sizeof(report->why), "no seccomp filter: %s", arch ? strerror(errno) : "unknown arch");
		return;
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	report->rc_other = create_into(dir_fd, "must", SPILLFILE_IO_URING, &f, why, sizeof(why));
	snprintf(report->message, sizeof(report->message), "%s", why);
	report->rc = create_into(dir_fd, "auto", SPILLFILE_IO_AUTO, &f, report->why, sizeof(report->why));
	if (report->rc < 0)
		return;
	snprintf(report->backend, sizeof(report->backend), "%s", spillfile_backend(f));
	data = calloc(1, 3 * SPILL_FILE_BUFFER_SIZE);
	report->rc = spillfile_write(f, data, 3 * SPILL_FILE_BUFFER_SIZE);
	if (report->rc == 0)
		report->rc = spillfile_commit(f);
	spillfile_destroy(f);
	free(data);
	report->entries = count_entries(dir_fd);
	close(dir_fd);
}

Test(spillfile, auto_falls_back_to_pwrite_when_io_uring_is_refused, .timeout = 60)
{
	char	   *dir = make_temp_dir();
	child_report report = run_in_child(refuse_io_uring, dir);
	int			dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	struct stat st;

	if (report.skipped)
	{
		close(dir_fd);
		remove_temp_dir(dir);
		cr_skip_test("%s", report.why);
	}
	cr_assert_eq(report.rc_other, -EPERM, "SPILLFILE_IO_URING with io_uring refused: %d (%s), want %d",
				 report.rc_other, report.message, -EPERM);
	cr_assert_str_eq(report.message, "io_uring_queue_init failed: Operation not permitted");
	cr_assert_eq(report.rc, 0, "SPILLFILE_IO_AUTO: %d (%s)", report.rc, report.why);
	cr_assert_str_eq(report.backend, "pwrite");
	cr_assert_str_eq(report.why, "io_uring_queue_init failed: Operation not permitted");
	cr_assert_eq(report.entries, 1, "%d files, want only the committed one", report.entries);
	cr_assert_eq(fstatat(dir_fd, "auto", &st, 0), 0);
	cr_assert_eq((size_t) st.st_size, 3 * SPILL_FILE_BUFFER_SIZE);
	close(dir_fd);
	remove_temp_dir(dir);
}
