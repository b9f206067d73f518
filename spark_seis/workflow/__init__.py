"""spark_seis.workflow"""
