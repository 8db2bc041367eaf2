/*
 * test_psk.c - pre-shared key files: the format, the permission rule
 * (a key file is private to its owner, as ssh demands of private keys),
 * and lookup by the id a client sends in HELLO.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "psk.h"

#define KEY32 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char dir[64];
static char err[512];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mps-psk-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static const char *keyfile(const char *text, mode_t mode)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys", dir);
	unlink(path);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

static void id16(const char *name, uint8_t out[MPS_KEY_ID_LEN])
{
	memset(out, 0, MPS_KEY_ID_LEN);
	memcpy(out, name, strlen(name));
}

TestSuite(psk, .init = setup, .fini = teardown);

Test(psk, loads_and_finds_keys)
{
	struct mps_psk_set set;
	const struct mps_psk *k;
	uint8_t id[MPS_KEY_ID_LEN];

	cr_assert_eq(mps_psk_load(keyfile(
		"# clients of this proxy\n"
		"\n"
		"laptop " KEY32 "  # the work laptop\n"
		"  phone.2\t00112233445566778899AABBCCDDEEFF\r\n"
		"sixteen-chars-id " KEY32 KEY32 "\n",
		0600), &set, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(set.n, 3);
	id16("laptop", id);
	k = mps_psk_find(&set, id);
	cr_assert_not_null(k);
	cr_assert_eq(k->len, 32);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(k->key[i], i);
	id16("phone.2", id);
	k = mps_psk_find(&set, id);
	cr_assert_not_null(k);
	cr_assert_eq(k->len, 16);
	cr_assert_eq(k->key[15], 0xff);
	id16("sixteen-chars-id", id);
	k = mps_psk_find(&set, id);
	cr_assert_not_null(k);
	cr_assert_eq(k->len, 64);
	/* ids compare as the 16 wire bytes: no prefix match */
	id16("lap", id);
	cr_assert_null(mps_psk_find(&set, id));
	id16("laptop", id);
	id[15] = 'x';
	cr_assert_null(mps_psk_find(&set, id));
	mps_psk_free(&set);
	cr_assert_eq(set.n, 0);
	cr_assert_null(set.keys);
}

/* Like ssh: any access for group or others refuses the file. */
Test(psk, refuses_a_file_others_can_access)
{
	static const mode_t bad[] = { 0640, 0604, 0660, 0644, 0610, 0601, 0602, 0620 };
	struct mps_psk_set set;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *path = keyfile("a " KEY32 "\n", bad[i]);

		cr_assert_eq(mps_psk_load(path, &set, err, sizeof(err)), -EPERM,
			     "mode %o", bad[i]);
		cr_assert(strstr(err, "too open") && strstr(err, "chmod 600"), "%s", err);
		cr_assert_eq(set.n, 0);
	}
	cr_assert_eq(mps_psk_load(keyfile("a " KEY32 "\n", 0400), &set, err,
				  sizeof(err)), 0, "%s", err);
	mps_psk_free(&set);
}

static void assert_refused(const char *text, int want, const char *msg)
{
	struct mps_psk_set set;

	err[0] = '\0';
	cr_assert_eq(mps_psk_load(keyfile(text, 0600), &set, err, sizeof(err)), want,
		     "'%s' -> %s", text, err);
	cr_assert(strstr(err, msg), "'%s': message '%s' lacks '%s'", text, err, msg);
	cr_assert_eq(set.n, 0);
	cr_assert_null(set.keys);
}

Test(psk, refuses_bad_lines)
{
	assert_refused("", -EINVAL, "no key");
	assert_refused("# only a comment\n\n", -EINVAL, "no key");
	assert_refused("laptop\n", -EINVAL, ":1: expected 'ID HEXKEY'");
	assert_refused("a " KEY32 " extra\n", -EINVAL, "expected 'ID HEXKEY'");
	assert_refused("ok " KEY32 "\nseventeen-chars-x " KEY32 "\n", -EINVAL,
		       ":2: key id longer than 16");
	assert_refused("bad/id " KEY32 "\n", -EINVAL, "may only hold");
	assert_refused("short 00112233445566778899aabbccddee\n", -EINVAL, "16 to 64 bytes");
	assert_refused("odd " KEY32 "0\n", -EINVAL, "even number");
	assert_refused("long " KEY32 KEY32 "00\n", -EINVAL, "16 to 64 bytes");
	assert_refused("nothex 000102030405060708090a0b0c0d0e0g\n", -EINVAL,
		       "not hexadecimal");
	assert_refused("twice " KEY32 "\ntwice " KEY32 "\n", -EINVAL, ":2: key id 'twice' given twice");
}

Test(psk, missing_file)
{
	struct mps_psk_set set;
	char path[128];

	snprintf(path, sizeof(path), "%s/none", dir);
	cr_assert_eq(mps_psk_load(path, &set, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, path));
	cr_assert_eq(mps_psk_load(dir, &set, err, sizeof(err)), -EINVAL);
}

Test(psk, id_for_logs)
{
	uint8_t id[MPS_KEY_ID_LEN];
	char s[MPS_KEY_ID_LEN + 1];

	id16("laptop", id);
	mps_psk_id_str(id, s);
	cr_assert_str_eq(s, "laptop");
	memset(id, 'z', sizeof(id));
	id[3] = '\n';
	mps_psk_id_str(id, s);
	cr_assert_str_eq(s, "zzz?zzzzzzzzzzzz");
}
