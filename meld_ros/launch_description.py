"""The graphs of meld_ros/graph.py as ``launch`` / ``launch_ros`` descriptions (ROS 2 Jazzy).

Used by the files in launch/ (``ros2 launch meld_ros sim_meta_train.launch.py
env:=sawyer-peg``). Every argument of the graph becomes a launch argument;
each node becomes a ``launch_ros.actions.Node`` of the installed executable
of the same name (a driver: its package's executable, in its namespace), with ``params_file`` (if given) and the graph's parameter
overrides; composed nodes (``compose:=true``) are one ``control_loop``
process (``meld_ros/container.py``) given their modules as arguments and
their overrides as a parameter file with one section per node; when any
process exits, the launch shuts down (the learner's exit
ends meta-training; any other exit is a failure), as ``meld launch`` does.
``launch`` is imported here only, so this module costs nothing elsewhere.
"""
from __future__ import annotations

import tempfile

from meld_ros.graph import ARGUMENTS, build_graph, write_member_parameters


def generate(graph: str):
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    def nodes(context, *args, **kwargs):
        values = {k: LaunchConfiguration(k).perform(context) for k in ARGUMENTS[graph]}
        params_file = values.get("params_file", "")
        actions = []
        for spec in build_graph(graph, values):
            base = [params_file] if params_file else []
            if spec.members:          # no node name here: it would rename every node of the process
                actions.append(Node(package="meld_ros", executable=spec.name, output="screen",
                                    arguments=[m.module for m in spec.members],
                                    parameters=base + [str(write_member_parameters(spec, tempfile.gettempdir()))],
                                    on_exit=Shutdown(reason=f"{spec.name} exited")))
                continue
            actions.append(Node(package=spec.package, executable=spec.executable or spec.name, name=spec.name,
                                namespace=spec.namespace or None, arguments=list(spec.arguments), output="screen",
                                parameters=base + [spec.parameters] if spec.parameters else base,
                                on_exit=None if spec.one_shot else Shutdown(reason=f"{spec.name} exited")))
        return actions

    declared = [DeclareLaunchArgument(k, default_value=v, description=f"{graph} argument {k}")
                for k, v in ARGUMENTS[graph].items()]
    return LaunchDescription(declared + [OpaqueFunction(function=nodes)])
