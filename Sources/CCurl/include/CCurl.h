// SPDX-License-Identifier: Apache-2.0
// CCurl: non-variadic wrappers around libcurl for Swift.
//
// Swift cannot call C variadic functions (curl_easy_setopt, curl_easy_getinfo, curl_multi_setopt),
// and it does not import macros built from other macros (CURLPAUSE_CONT, CURL_GLOBAL_ALL).
// Each wrapper here fixes the argument type, so the call is well-defined C.
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>
#if defined(__linux__)
// The curl thread waits on libcurl's sockets with epoll and is woken through an eventfd; Swift's Glibc
// module does not expose these headers.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif

// Global setup: curl_global_init(CURL_GLOBAL_ALL). Call once per process before any other curl use.
CURLcode ccurl_global_init_all(void);

// curl_easy_setopt, by argument type.
CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode ccurl_easy_setopt_write_function(CURL *handle, curl_write_callback callback);
CURLcode ccurl_easy_setopt_header_function(CURL *handle, curl_write_callback callback);
CURLcode ccurl_easy_setopt_prereq_function(CURL *handle, curl_prereq_callback callback);

// curl_easy_getinfo, by result type.
CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode ccurl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode ccurl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

// curl_multi_setopt for long options, pointers, and the socket-interface callbacks.
CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);
CURLMcode ccurl_multi_setopt_pointer(CURLM *multi, CURLMoption option, void *value);
CURLMcode ccurl_multi_setopt_socket_function(CURLM *multi, curl_socket_callback callback);
CURLMcode ccurl_multi_setopt_timer_function(CURLM *multi, curl_multi_timer_callback callback);

// Names the calling thread (Linux keeps 15 bytes; elsewhere a no-op). Lives here because Swift's Glibc
// module does not expose the _GNU_SOURCE pthread_setname_np.
void ccurl_set_current_thread_name(const char *name);

// Constants Swift cannot import directly.
static const int ccurl_pause_cont = CURLPAUSE_CONT;
static const size_t ccurl_writefunc_pause = CURL_WRITEFUNC_PAUSE;
static const int ccurl_prereqfunc_ok = CURL_PREREQFUNC_OK;
static const int ccurl_error_size = CURL_ERROR_SIZE;
static const curl_socket_t ccurl_socket_timeout = CURL_SOCKET_TIMEOUT;

#endif
