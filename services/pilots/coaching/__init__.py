"""Coaching cycles of pilot teachers: goal-setting, model lesson, co-teaching, reflective debrief."""
