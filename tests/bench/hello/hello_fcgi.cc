// The B1 baseline: the smallest libfcgi responder, run by the same supervisord
// pool and nginx as jobpulse-fcgi (same --slot convention, slot 0 holds the
// socket), answering a fixed JSON body the size of an inline-progress answer.
#include <fcgiapp.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--slot") == 0 && std::atoi(argv[i + 1]) == 0) {
      while (true) pause();  // TERM ends it
    }
  }
  static const char kResponse[] =
      "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n"
      "{\"job_id\":\"hello\",\"stage\":\"Training\",\"last_log\":\"Step 1500/5000 - loss: "
      "0.0234\",\"progress\":30.0}";
  FCGX_Init();
  FCGX_Request rq;
  FCGX_InitRequest(&rq, 0, 0);
  char buf[4096];
  while (FCGX_Accept_r(&rq) == 0) {
    while (FCGX_GetStr(buf, sizeof(buf), rq.in) > 0) {
    }
    FCGX_PutStr(kResponse, sizeof(kResponse) - 1, rq.out);
    FCGX_Finish_r(&rq);
  }
  return 0;
}
