package memcached

// brokenErrnos are the errors of a connection reset or closed by the
// server (see connBroken): Windows Sockets' (see windowsBroken).
var brokenErrnos = windowsBroken
