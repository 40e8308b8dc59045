/* main.c: fixture app */
int app_main(void) { return 0; }
