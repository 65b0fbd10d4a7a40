"""ros2 launch meld_ros widowx_meta_train.launch.py [key:=value ...]  (arguments: meld_ros/graph.py ARGUMENTS)

The same graph runs without the launch package as: ./meld launch widowx_meta_train [key:=value ...]
"""
from meld_ros.launch_description import generate


def generate_launch_description():
    return generate("widowx_meta_train")
