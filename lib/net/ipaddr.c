/* ipaddr.c: stack.h's family-tagged addresses as text (apart from the stack, so a user of the
 * boot keys alone does not pull in the IP layers). */
#include <stdio.h>

#include "mirage/ipv4.h"
#include "mirage/ipv6.h"
#include "mirage/stack.h"

char *mirage_ipaddr_format(const struct mirage_ipaddr *a, uint16_t port, char *buf, size_t size)
{
    char t[46];

    if (a->family == 6)
        mirage_ipv6_format(a->a, t);
    else
        mirage_ipv4_format(mirage_ipv4_of_bytes(a->a), t);
    if (port == 0)
        snprintf(buf, size, "%s", t);
    else
        snprintf(buf, size, a->family == 6 ? "[%s]:%u" : "%s:%u", t, port);
    return buf;
}

char *mirage_stack_format_addresses(struct mirage_stack *s, uint16_t port, const char *prefix,
                                    const char *suffix, char *buf, size_t size)
{
    struct mirage_ipaddr addr[4];
    size_t n = mirage_stack_ip_addresses(s, addr, 4), o = 0;

    if (size > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < n && i < 4 && o < size; i++) {
        char t[56];
        int w = snprintf(buf + o, size - o, "%s%s%s%s", i > 0 ? " " : "", prefix,
                         mirage_ipaddr_format(&addr[i], port, t, sizeof(t)), suffix);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return buf;
}
