"""ros2 launch meld_ros sim_meta_test.launch.py [key:=value ...]  (arguments: meld_ros/graph.py ARGUMENTS)

The same graph runs without the launch package as: ./meld launch sim_meta_test [key:=value ...]
"""
from meld_ros.launch_description import generate


def generate_launch_description():
    return generate("sim_meta_test")
