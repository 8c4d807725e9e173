/* Symbol visibility for the ferry API. */
#ifndef FERRY_EXPORT_H
#define FERRY_EXPORT_H

#if defined(FERRY_STATIC)
#define FERRY_API
#elif defined(FERRY_BUILDING) && defined(__GNUC__)
#define FERRY_API __attribute__((visibility("default")))
#else
#define FERRY_API
#endif

#endif
