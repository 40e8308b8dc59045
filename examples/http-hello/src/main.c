/* main.c: http-hello, the example Unicycle HTTP server (GET / and GET /hello.txt). */
#include <unicycle/http.h>
#include <unicycle/unicycle.h>

#define HELLO_PORT 80

static const char index_html[] =
	"<html><body><h1>Hello, World!</h1></body></html>";
static const char hello_txt[] = "Hello from Unicycle!\n";

static void index_page(const struct uc_http_request *req,
		       struct uc_http_response *res)
{
	(void)req;
	uc_http_respond(res, 200, "text/html", index_html, sizeof(index_html) - 1);
}

static void hello_text(const struct uc_http_request *req,
		       struct uc_http_response *res)
{
	(void)req;
	uc_http_header(res, "Cache-Control", "no-cache");
	uc_http_respond(res, 200, "text/plain; charset=utf-8", hello_txt,
			sizeof(hello_txt) - 1);
}

int app_main(void)
{
	int rc;

	/* Every other path gets the server's 404. */
	if (uc_http_route("/", index_page) < 0 ||
	    uc_http_route("/hello.txt", hello_text) < 0) {
		uc_printf("http-hello: cannot register routes\n");
		return 1;
	}
	rc = uc_http_listen(HELLO_PORT);
	if (rc < 0) {
		uc_printf("http-hello: cannot listen on port %d (%d)\n", HELLO_PORT, rc);
		return 1;
	}
	uc_run();
}
