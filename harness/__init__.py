"""isobench: how much cheaper is a V8 isolate than a process or a container?"""

__version__ = "0.1.0"
