"""Makes the standard library cooperative for the service's green request handling.

thread patching is on by default: from here on, threading.Thread creates green threads.
"""
import eventlet

eventlet.monkey_patch()
