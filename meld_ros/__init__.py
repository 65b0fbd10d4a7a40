"""meld_ros: ROS 2 nodes for MELD, plus the generated interfaces (msg, srv).

The generated ``meld_ros.msg`` / ``meld_ros.srv`` modules and these
hand-written files are installed into the same package directory;
``extend_path`` lets both halves be found when they live in different places
on ``sys.path`` (source tree and install space).
"""
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
