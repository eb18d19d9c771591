"""Predict: executor models (fitted by calibration or from traces) and a discrete-event
simulation of any trace on a modelled executor with N workers (docs/predict.md).

    model.py       the executor model file (versioned JSON) and its distributions
    store.py       where models are saved (tapstrace list models)
    calibrate.py   live calibration workloads, recorded as traces
    fit.py         fitting a model from traces
    workload.py    a trace's tasks, DAG and client flow, from the replay plan
    simulate.py    the event loop
    prediction.py  repeated simulations: makespan and interval
    predicted.py   a simulated schedule as a trace
    plot.py        the scaling curve
"""
