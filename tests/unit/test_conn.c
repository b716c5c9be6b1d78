/*
 * test_conn.c: connection strings are shown without their password, and
 * child processes get it apart from their command line.  No server needed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "engine/conn.h"

Test(conn, redact_hides_keyword_password, .timeout = 10)
{
	char		out[512];

	cr_assert_eq(conn_redact("host=db port=5433 password=s3cr3t dbname=app", out, sizeof(out)), 0);
	cr_assert_null(strstr(out, "s3cr3t"), "password leaked: %s", out);
	cr_assert_not_null(strstr(out, "host='db'"), "host missing: %s", out);
	cr_assert_not_null(strstr(out, "password='********'"), "no mask: %s", out);
}

Test(conn, redact_hides_uri_password, .timeout = 10)
{
	char		out[512];

	cr_assert_eq(conn_redact("postgresql://alice:s3cr3t@db:5433/app?sslmode=disable", out, sizeof(out)), 0);
	cr_assert_null(strstr(out, "s3cr3t"), "password leaked: %s", out);
	cr_assert_not_null(strstr(out, "user='alice'"), "user missing: %s", out);
}

Test(conn, redact_does_not_echo_an_unparsable_string, .timeout = 10)
{
	char		out[512];

	cr_assert_lt(conn_redact("host=db password='s3cr3t", out, sizeof(out)), 0);
	cr_assert_null(strstr(out, "s3cr3t"), "password leaked: %s", out);
}

Test(conn, split_password_moves_it_out_of_the_string, .timeout = 10)
{
	char	   *without = NULL;
	char	   *password = NULL;

	cr_assert_eq(conn_split_password("host=db password='it\\'s \\\\ x' dbname=app", &without, &password), 0);
	cr_assert_null(strstr(without, "password"), "still there: %s", without);
	cr_assert_str_eq(password, "it's \\ x");
	free(without);
	free(password);
}

Test(conn, split_quotes_values_so_libpq_reads_them_back, .timeout = 10)
{
	char	   *without = NULL;
	char	   *password = NULL;
	char	   *again = NULL;
	char	   *password2 = NULL;

	cr_assert_eq(conn_split_password("dbname='my db' application_name='a\\'b'", &without, &password), 0);
	cr_assert_null(password);
	cr_assert_eq(conn_split_password(without, &again, &password2), 0);
	cr_assert_str_eq(again, without, "not stable: %s vs %s", again, without);
	free(without);
	free(again);
}

Test(conn, one_line_folds_libpq_messages, .timeout = 10)
{
	char		msg[] = "connection to server failed: No such file\n\tIs the server running?\n";

	cr_assert_str_eq(conn_one_line(msg), "connection to server failed: No such file Is the server running?");
}

Test(conn, tcp_user_timeout_follows_the_stall_timeout, .timeout = 10)
{
	cr_assert_eq(conn_tcp_user_timeout_ms(60), 60000, "got %d", conn_tcp_user_timeout_ms(60));
	cr_assert_eq(conn_tcp_user_timeout_ms(5), 5000, "got %d", conn_tcp_user_timeout_ms(5));
	/* off: still far below the kernel's 15 minutes of retransmissions */
	cr_assert_eq(conn_tcp_user_timeout_ms(0), 300000, "got %d", conn_tcp_user_timeout_ms(0));
}

Test(conn, stall_timeout_is_kept_and_never_negative, .timeout = 10)
{
	cr_assert_eq(conn_stall_timeout(), CONN_STALL_DEFAULT_SECONDS);
	conn_set_stall_timeout(7);
	cr_assert_eq(conn_stall_timeout(), 7);
	conn_set_stall_timeout(-3);
	cr_assert_eq(conn_stall_timeout(), 0);
	conn_set_stall_timeout(CONN_STALL_DEFAULT_SECONDS);
}
